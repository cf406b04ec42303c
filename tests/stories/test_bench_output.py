"""`manage.py bench --output`: a run writes its report into a directory of its own, never onto an earlier run's."""

import pytest
from django.core.management import CommandError

from stories.management.commands import bench as bench_command


def run_for(directory) -> bench_command.Run:
    command = bench_command.Command()
    options = vars(command.create_parser("manage.py", "bench").parse_args(["--output", str(directory)]))
    return bench_command.Run(command, options)


def test_a_directory_holding_an_earlier_runs_results_is_refused_before_anything_is_measured(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "results.jsonl").write_text('{"name": "part", "rps": 1}\n')

    with pytest.raises(CommandError, match="is not empty"):
        run_for(tmp_path)

    assert [path.name for path in tmp_path.iterdir()] == ["demo"]
    assert (tmp_path / "demo" / "results.jsonl").read_text() == '{"name": "part", "rps": 1}\n'


@pytest.mark.parametrize("existing", [True, False], ids=["empty", "new"])
def test_an_empty_or_new_directory_is_taken(tmp_path, existing):
    directory = tmp_path / "run"
    if existing:
        directory.mkdir()

    run = run_for(directory)

    assert run.dir == directory
    assert directory.is_dir()
    assert not any(directory.iterdir())
