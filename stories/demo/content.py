"""Invented demo content. Every person, place and event here is made up for this project."""

THEMES = [
    {"slug": "crossing", "name_en": "Crossing the border", "name_ko": "국경을 넘어"},
    {"slug": "family", "name_en": "Family", "name_ko": "가족"},
    {"slug": "resettlement", "name_en": "Resettlement", "name_ko": "정착"},
    {"slug": "repatriation", "name_en": "Forced repatriation", "name_ko": "강제북송"},
]

CONTENT_WARNINGS = [
    {"slug": "trafficking", "label_en": "Human trafficking", "label_ko": "인신매매"},
    {"slug": "detention", "label_en": "Detention", "label_ko": "구금"},
    {"slug": "hunger", "label_en": "Hunger", "label_ko": "굶주림"},
    {"slug": "separation", "label_en": "Separation from family", "label_ko": "가족과의 이별"},
]

STORYTELLERS = [
    {
        "key": "dawn",
        "original_language": "ko",
        "pseudonym_en": "Dawn",
        "pseudonym_ko": "새벽",
        "bio_en": "Dawn grew up in a mining town in the north. She now lives in Seoul, where she studies social work.",
        "bio_ko": "새벽은 북쪽의 한 광산 마을에서 자랐습니다. 지금은 서울에 살며 사회복지를 공부하고 있습니다.",
        "identity": {
            "legal_name": "Demo Person One (invented)",
            "caseworker_notes": "Demo record. Prefers interviews in the morning.",
            "identifying_terms": "Demo-ville\n데모마을\nDemo Sister Name",
        },
        "consent": {"decision": "given", "web": True, "en": True, "ko": True, "photos": False, "advocacy": True},
    },
    {
        "key": "pine",
        "original_language": "en",
        "pseudonym_en": "Mr. Pine",
        "pseudonym_ko": "소나무 선생",
        "bio_en": "A former school teacher who reached South Korea in his sixties.",
        "bio_ko": "예순이 넘어 한국에 도착한 전직 교사입니다.",
        "identity": {
            "legal_name": "Demo Person Two (invented)",
            "caseworker_notes": "Demo record.",
            "identifying_terms": "Demo Middle School\n데모중학교",
        },
        "consent": {"decision": "given", "web": True, "en": True, "ko": True, "photos": False, "advocacy": False},
    },
    {
        "key": "river",
        "original_language": "en",
        "pseudonym_en": "River",
        "pseudonym_ko": "강물",
        "bio_en": "River shared her story in 2024 and later asked for it to be taken down.",
        "bio_ko": "강물은 2024년에 이야기를 나누었고, 이후 내려 달라고 요청했습니다.",
        "identity": {
            "legal_name": "Demo Person Three (invented)",
            "caseworker_notes": "Demo record. Withdrew consent; nothing of hers may be public.",
            "identifying_terms": "Demo Harbour\n데모항구",
        },
        "consent": {"decision": "withdrawn"},
    },
    {
        "key": "willow",
        "original_language": "ko",
        "pseudonym_en": "Willow",
        "pseudonym_ko": "버들",
        "bio_en": "Willow left North Korea in her forties. She runs a small kitchen in Incheon and volunteers at a "
        "settlement centre.",
        "bio_ko": (
            "버들은 사십 대에 북한을 떠났습니다. 인천에서 작은 식당을 꾸리며 정착 지원 센터에서 봉사하고 있습니다."
        ),
        "identity": {
            "legal_name": "Demo Person Four (invented)",
            "caseworker_notes": "Demo record. Happy to be contacted about cooking classes.",
            "identifying_terms": "Demo Market\n데모시장",
        },
        "consent": {"decision": "given", "web": True, "en": True, "ko": True, "photos": False, "advocacy": True},
    },
]

STORIES = [
    {
        "slug": "dawns-story",
        "storyteller": "dawn",
        "original_language": "ko",
        "title_en": "Dawn's Story",
        "title_ko": "새벽의 이야기",
        "summary_en": "A young woman leaves home to find food for her family, and finds a long road instead.",
        "summary_ko": "가족을 위해 먹을 것을 찾아 집을 떠난 한 젊은 여성이 긴 길 위에 서게 됩니다.",
        "themes": ["crossing", "family", "repatriation"],
        "content_warnings": ["trafficking", "hunger", "separation"],
        "is_complete": False,
        "is_featured": True,
        "parts": [
            {
                "number": 1,
                "days_ago": 40,
                # The English translation was approved before Dawn added her last sentence, so it
                # is shown as needing an update (and kept public meanwhile).
                "body_ko_at_translation": (
                    "내가 열아홉 살이 되던 겨울, 배급이 끊겼습니다. 어머니는 옥수수 한 줌을 두 번 끓이고는 "
                    "자신은 벌써 먹었다고 말했습니다.\n\n"
                    "시장에서 만난 한 아주머니가 강 건너편에 일자리가 있다고 했습니다. 식당 일이고 돈도 잘 "
                    "준다고 했습니다. 그 말을 다 믿지는 않았습니다. 나는 남동생의 얼굴을 더 믿었습니다.\n\n"
                    "> 얼음이 녹기 전에 돌아오겠다고 스스로에게 말했습니다.\n\n"
                    "우리는 밤에 걸었습니다."
                ),
                "title_en": "The River in Winter",
                "title_ko": "겨울의 강",
                "summary_en": "The winter the rations stopped, and the night Dawn decided to cross.",
                "summary_ko": "배급이 끊긴 겨울, 그리고 새벽이 강을 건너기로 한 밤.",
                "body_en": (
                    "The winter I turned nineteen, the rations stopped coming. My mother boiled the same "
                    "handful of corn twice and told us she had already eaten.\n\n"
                    "A woman from the market said there was work on the other side of the river: kitchen work, "
                    "she said, and good pay. I did not believe her completely. I believed my little brother's "
                    "face more.\n\n"
                    "> I told myself I would be back before the ice melted.\n\n"
                    "We walked at night. The ice sang under our feet, a thin high sound I still hear when "
                    "I cannot sleep."
                ),
                "body_ko": (
                    "내가 열아홉 살이 되던 겨울, 배급이 끊겼습니다. 어머니는 옥수수 한 줌을 두 번 끓이고는 "
                    "자신은 벌써 먹었다고 말했습니다.\n\n"
                    "시장에서 만난 한 아주머니가 강 건너편에 일자리가 있다고 했습니다. 식당 일이고 돈도 잘 "
                    "준다고 했습니다. 그 말을 다 믿지는 않았습니다. 나는 남동생의 얼굴을 더 믿었습니다.\n\n"
                    "> 얼음이 녹기 전에 돌아오겠다고 스스로에게 말했습니다.\n\n"
                    "우리는 밤에 걸었습니다. 발밑에서 얼음이 울었습니다. 가늘고 높은 그 소리가 잠 못 드는 밤이면 "
                    "지금도 들립니다."
                ),
            },
            {
                "number": 2,
                "days_ago": 26,
                "title_en": "A Promise That Was a Lie",
                "title_ko": "거짓이었던 약속",
                "summary_en": "There was no kitchen. Dawn learns what she was brought across for.",
                "summary_ko": "식당은 없었습니다. 새벽은 자신이 왜 이곳에 오게 되었는지 알게 됩니다.",
                "body_en": (
                    "There was no kitchen. There was a farmhouse, a man who had paid for me, and a door that "
                    "was locked from the outside.\n\n"
                    "I will not write everything about those years. Some of it belongs only to me. What I want "
                    "you to know is that I learned the language by listening through walls, and that I counted "
                    "every day on the inside of a cupboard door.\n\n"
                    "I counted one thousand and twelve days."
                ),
                "body_ko": (
                    "식당은 없었습니다. 농가 한 채와 나를 돈 주고 산 남자, 그리고 밖에서 잠긴 문이 있었습니다.\n\n"
                    "그 시절의 일을 모두 쓰지는 않겠습니다. 어떤 것은 나만의 것입니다. 다만 알아 주었으면 하는 "
                    "것은, 나는 벽 너머로 들리는 말을 들으며 그 나라 말을 배웠고, 찬장 문 안쪽에 하루하루를 "
                    "세어 두었다는 것입니다.\n\n"
                    "나는 천열이틀을 세었습니다."
                ),
            },
            {
                "number": 3,
                "days_ago": 12,
                "title_en": "The Decision to Go South",
                "title_ko": "남쪽으로 가기로 한 결심",
                "summary_en": "A stranger's phone, a borrowed coat, and the hardest choice of Dawn's life.",
                "summary_ko": "낯선 사람의 전화기, 빌린 외투, 그리고 새벽의 삶에서 가장 어려운 선택.",
                "body_en": (
                    "A woman at the village clinic let me use her phone. She did not ask my name, and I did not "
                    "ask hers. The voice on the other end said: *if you are caught, you will be sent back.*\n\n"
                    "I knew what being sent back meant. I had heard it through the walls, too.\n\n"
                    "I went anyway. I went because a life spent counting days on a cupboard door is not a life, "
                    "and because somewhere my brother was still waiting for me to come home with food."
                ),
                "body_ko": (
                    "마을 진료소의 한 여성이 전화기를 빌려 주었습니다. 그녀는 내 이름을 묻지 않았고, 나도 "
                    "그녀의 이름을 묻지 않았습니다. 전화기 너머의 목소리가 말했습니다. *잡히면 북송됩니다.*\n\n"
                    "북송이 무엇을 뜻하는지 나는 알고 있었습니다. 그것 역시 벽 너머로 들었으니까요.\n\n"
                    "그래도 나는 떠났습니다. 찬장 문에 날짜를 세며 보내는 삶은 삶이 아니었기 때문이고, 어딘가에서 "
                    "남동생이 아직도 내가 먹을 것을 가지고 돌아오기를 기다리고 있었기 때문입니다."
                ),
            },
            {
                # Scheduled: readers will see it only once its time comes.
                "number": 4,
                "days_ago": -14,
                "title_en": "First Morning in Seoul",
                "title_ko": "서울에서의 첫 아침",
                "summary_en": "Coming soon.",
                "summary_ko": "곧 공개됩니다.",
                "body_en": "The first thing I noticed was that nobody was counting anything.",
                "body_ko": "가장 먼저 눈에 들어온 것은 아무도 무언가를 세고 있지 않다는 것이었습니다.",
            },
        ],
    },
    {
        "slug": "the-teacher-who-kept-counting",
        "storyteller": "pine",
        "original_language": "en",
        "title_en": "The Teacher Who Kept Counting",
        "title_ko": "숫자를 세던 선생님",
        "summary_en": "A retired mathematics teacher on arithmetic, hunger and starting again at sixty-three.",
        "summary_ko": "은퇴한 수학 교사가 들려주는 산수와 굶주림, 그리고 예순셋에 다시 시작하는 삶.",
        "themes": ["resettlement"],
        "content_warnings": ["hunger"],
        "is_complete": True,
        "is_featured": False,
        "parts": [
            {
                "number": 1,
                "days_ago": 30,
                # Its Korean translation is written and waiting for an editor's review.
                "korean_in_review": True,
                "title_en": "Arithmetic",
                "title_ko": "산수",
                "summary_en": "Mr. Pine taught children to count. Then he counted what was missing.",
                "summary_ko": "소나무 선생은 아이들에게 셈을 가르쳤습니다. 그러다 없어진 것들을 세기 시작했습니다.",
                "body_en": (
                    "For thirty years I taught children to add and subtract. In the hungry years the "
                    "subtraction became the only lesson: fewer pupils each spring, fewer pages in each "
                    "notebook.\n\n"
                    "Now I teach adults who came the same way I did. We begin with bus fares and rent. "
                    "Arithmetic, it turns out, is also a way of saying: *you are going to stay.*"
                ),
                "body_ko": (
                    "삼십 년 동안 나는 아이들에게 덧셈과 뺄셈을 가르쳤습니다. 굶주리던 시절에는 뺄셈만이 유일한 "
                    "수업이 되었습니다. 봄마다 학생은 줄었고, 공책의 쪽수도 줄었습니다.\n\n"
                    "지금 나는 나와 같은 길을 걸어온 어른들을 가르칩니다. 버스 요금과 월세부터 시작합니다. "
                    "산수는 이렇게 말하는 방법이기도 합니다. *당신은 이곳에 머물게 될 거예요.*"
                ),
            },
        ],
    },
    {
        # A single piece: a profile, read at the story's own address, with no part numbering.
        "slug": "meet-willow",
        "kind": "single",
        "storyteller": "willow",
        "original_language": "ko",
        "title_en": "Meet Willow, Who Cooks for the Newcomers",
        "title_ko": "새로 온 이웃에게 밥을 짓는 버들 님을 만나다",
        "summary_en": "Every Thursday, Willow cooks for people who arrived in the South that month.",
        "summary_ko": "버들 님은 목요일마다 그달에 남쪽에 도착한 이웃들을 위해 밥을 짓습니다.",
        "themes": ["resettlement"],
        "content_warnings": [],
        "is_complete": True,
        "is_featured": False,
        "parts": [
            {
                "number": 1,
                "days_ago": 5,
                "title_en": "Meet Willow, Who Cooks for the Newcomers",
                "title_ko": "새로 온 이웃에게 밥을 짓는 버들 님을 만나다",
                "summary_en": "Every Thursday, Willow cooks for people who arrived in the South that month.",
                "summary_ko": "버들 님은 목요일마다 그달에 남쪽에 도착한 이웃들을 위해 밥을 짓습니다.",
                "body_en": (
                    "On Thursdays the kitchen opens at four. Willow has already soaked the beans, and the rice is "
                    "washed three times, the way her mother did it.\n\n"
                    '"The first meal here should taste like somewhere you know," she says. "After that, we can '
                    'learn new things together."\n\n'
                    "* * *\n\n"
                    "Willow came to the South eleven years ago. She learned to read bus maps, to open a bank "
                    "account and to wait for a doctor's appointment. Now she teaches the same things at her table, "
                    "between the soup and the tea.\n\n"
                    "Ask her what she is proudest of, and she points to the door: people who once ate here come "
                    "back on Thursdays to help."
                ),
                "body_ko": (
                    "목요일이면 부엌은 네 시에 문을 엽니다. 버들 님은 벌써 콩을 불려 두었고, 쌀은 어머니가 하던 대로 "
                    "세 번 씻었습니다.\n\n"
                    '"여기서 먹는 첫 끼는 아는 곳의 맛이 나야 해요. 새로운 건 그다음에 같이 배우면 되지요."\n\n'
                    "* * *\n\n"
                    "버들 님은 십일 년 전에 남쪽으로 왔습니다. 버스 노선도를 읽는 법, 은행 계좌를 여는 법, 병원 "
                    "예약을 기다리는 법을 배웠습니다. 이제는 같은 것들을 국과 차 사이에서 식탁에 둘러앉은 이웃들에게 "
                    "가르칩니다.\n\n"
                    "가장 자랑스러운 것이 무엇이냐고 물으면 버들 님은 문을 가리킵니다. 이곳에서 밥을 먹던 분들이 "
                    "이제는 목요일마다 일을 도우러 온다고요."
                ),
            },
        ],
    },
    {
        "slug": "rivers-story",
        "storyteller": "river",
        "original_language": "en",
        "title_en": "River's Story",
        "title_ko": "강물의 이야기",
        "summary_en": "Withdrawn at the storyteller's request.",
        "summary_ko": "이야기한 분의 요청으로 내려졌습니다.",
        "themes": ["repatriation"],
        "content_warnings": ["detention"],
        "is_complete": True,
        "is_featured": False,
        "parts": [
            {
                "number": 1,
                "days_ago": 60,
                "title_en": "Sent Back",
                "title_ko": "북송",
                "summary_en": "This part is hidden because consent was withdrawn.",
                "summary_ko": "동의가 철회되어 이 편은 공개되지 않습니다.",
                "body_en": "This demo text stays hidden: its storyteller withdrew consent.",
                "body_ko": "이 데모 글은 공개되지 않습니다. 이야기한 분이 동의를 철회했습니다.",
            },
        ],
    },
]
