"""The physical limit `manage.py bench` measures against: WhiteNoise serving saved copies of our pages.

No Django, no database: a 404 app wrapped by WhiteNoise in its production mode, which reads the files in
BENCH_STATIC_PAGES once at start. Each page is saved as <name>/index.html and served at /<name>/.
Run under the same gunicorn flags as the site: ``gunicorn archive.static_bench:application``.
"""

import os

from whitenoise import WhiteNoise


def not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found\n"]


application = WhiteNoise(not_found, root=os.environ["BENCH_STATIC_PAGES"], index_file=True, autorefresh=False)
