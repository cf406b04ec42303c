"""Invented text for the scale data set (``manage.py generate_scale_data``), in English and Korean.

Every name, place, organisation and sentence here is made up for this project. Sentences come in
pairs, the Korean a translation of the English, so that a generated body reads the same in both
languages. Slots such as ``{relative}`` are filled from pairs too; in Korean, ``{relative|은}``
adds the particle that suits the word's last syllable (은/는, 이/가, 을/를, 과/와, 으로/로).
"""

import dataclasses
import random
import re
from collections.abc import Callable

EN, KO = "en", "ko"
LANGUAGES = (EN, KO)

THEMES = [
    {"slug": "family", "name_en": "Family", "name_ko": "가족"},
    {"slug": "escape", "name_en": "Escape", "name_ko": "탈출"},
    {"slug": "crossing", "name_en": "Crossing the border", "name_ko": "국경을 넘어"},
    {"slug": "faith", "name_en": "Faith", "name_ko": "믿음"},
    {"slug": "work", "name_en": "Work", "name_ko": "일"},
    {"slug": "school", "name_en": "School", "name_ko": "학교"},
    {"slug": "resettlement", "name_en": "Resettlement", "name_ko": "정착"},
    {"slug": "memory", "name_en": "Memory", "name_ko": "기억"},
]

CONTENT_WARNINGS = [
    {"slug": "hunger", "label_en": "Hunger", "label_ko": "굶주림"},
    {"slug": "separation", "label_en": "Separation from family", "label_ko": "가족과의 이별"},
    {"slug": "detention", "label_en": "Detention", "label_ko": "구금"},
    {"slug": "trafficking", "label_en": "Human trafficking", "label_ko": "인신매매"},
    {"slug": "violence", "label_en": "Violence", "label_ko": "폭력"},
    {"slug": "bereavement", "label_en": "Death of a loved one", "label_ko": "사랑하는 사람의 죽음"},
]

# Site-wide protected terms for the scale data set. Nothing in this module contains them, so the
# identifying-detail guard has terms to look for and must find none.
PROTECTED_TERMS = [
    ("Scalebrook Shelter", "Invented safe house name, for scale tests."),
    ("스케일브룩 쉼터", "Invented safe house name, for scale tests."),
    ("Scale Route Nine", "Invented route name, for scale tests."),
]

# --- Pseudonyms and bios ----------------------------------------------------------------------------

NAMES = [
    ("Spring", "봄"),
    ("Haneul", "하늘"),
    ("Dawn", "새벽"),
    ("Byeol", "별"),
    ("Nari", "나리"),
    ("Bada", "바다"),
    ("Gaeul", "가을"),
    ("Saebom", "새봄"),
    ("Iseul", "이슬"),
    ("Dasom", "다솜"),
    ("Narae", "나래"),
    ("Bitna", "빛나"),
    ("Hangyeol", "한결"),
    ("River", "강물"),
    ("Willow", "버들"),
    ("Cloud", "구름"),
    ("Moon", "달"),
    ("Wind", "바람"),
    ("Lark", "종달새"),
    ("Magnolia", "목련"),
    ("Azalea", "진달래"),
    ("Forsythia", "개나리"),
    ("Maple", "단풍"),
    ("Bamboo", "대나무"),
    ("Crane", "두루미"),
    ("Swallow", "제비"),
    ("Pebble", "조약돌"),
    ("Pine", "소나무"),
    ("Plum Blossom", "매화"),
    ("Sunflower", "해바라기"),
]
# Only the words that read well before another: "Morning Dew", "아침 이슬".
QUALIFIERS = [
    ("Morning", "아침"),
    ("Evening", "저녁"),
    ("Little", "작은"),
    ("Quiet", "고요한"),
    ("Bright", "밝은"),
    ("Blue", "푸른"),
    ("Early", "이른"),
    ("Mountain", "산"),
    ("Winter", "겨울"),
    ("Gentle", "다정한"),
]
QUALIFIED_NAMES = [
    ("River", "강물"),
    ("Willow", "버들"),
    ("Cloud", "구름"),
    ("Moon", "달"),
    ("Wind", "바람"),
    ("Lark", "종달새"),
    ("Magnolia", "목련"),
    ("Pine", "소나무"),
    ("Star", "별"),
    ("Dew", "이슬"),
    ("Swallow", "제비"),
]

ORIGINS = [
    ("in a farming village in the north", "북쪽의 한 농촌 마을에서"),
    ("in a mining town", "한 광산 마을에서"),
    ("in a fishing village by the sea", "바닷가의 한 어촌에서"),
    ("in a city on a wide river", "큰 강가의 한 도시에서"),
    ("in the mountains", "산골에서"),
    ("in a town by the railway", "철도가 지나는 한 마을에서"),
]
NOW = [
    ("Now lives in Seoul and studies social work.", "지금은 서울에 살며 사회복지를 공부합니다."),
    ("Now runs a small bakery.", "지금은 작은 빵집을 운영합니다."),
    ("Now works as a nurse.", "지금은 간호사로 일합니다."),
    ("Now studies law in the evenings.", "지금은 저녁마다 법학을 공부합니다."),
    ("Now raises two children and sings in a choir.", "지금은 두 아이를 키우며 합창단에서 노래합니다."),
    ("Now teaches other newcomers to use the subway.", "지금은 다른 새내기 정착민들에게 지하철 타는 법을 가르칩니다."),
    ("Now drives a delivery van and paints at weekends.", "지금은 배달 차를 몰고, 주말에는 그림을 그립니다."),
    ("Now volunteers at a community kitchen.", "지금은 지역 급식소에서 봉사합니다."),
    ("Now works as a hairdresser and is learning to swim.", "지금은 미용사로 일하며 수영을 배우고 있습니다."),
    ("Now writes poems in two languages.", "지금은 두 언어로 시를 씁니다."),
]

# --- Titles and summaries ---------------------------------------------------------------------------

STORY_TITLES = [
    ("A Second Spring", "두 번째 봄"),
    ("The Long Way Home", "집으로 가는 먼 길"),
    ("Under the Same Moon", "같은 달 아래"),
    ("Bread and Salt", "빵과 소금"),
    ("The Night Train", "밤기차"),
    ("My Mother's Hands", "어머니의 손"),
    ("Starting Over at Forty", "마흔에 다시 시작하며"),
    ("What the Ice Said", "얼음이 한 말"),
    ("Songs from the Kitchen", "부엌에서 부르던 노래"),
    ("Counting Stars", "별을 세며"),
    ("A Coat for the Journey", "여정을 위한 외투"),
    ("The Map in My Head", "머릿속의 지도"),
    ("Morning Service", "새벽 예배"),
    ("The Other Side of the River", "강 건너편"),
    ("Small Lights", "작은 불빛들"),
    ("Learning the Words", "말을 배우며"),
    ("Between Two Winters", "두 겨울 사이"),
    ("Hands Full of Seeds", "씨앗을 가득 쥔 손"),
    ("The Road Behind Me", "내 뒤의 길"),
    ("Letters to My Brother", "남동생에게 보내는 편지"),
    ("A Place at the Table", "식탁의 한 자리"),
    ("The Years I Counted", "내가 센 해들"),
    ("Where Spring Begins", "봄이 시작되는 곳"),
]
STORY_SUMMARIES = [
    (
        "A young woman leaves home to find food for her family, and finds a long road instead.",
        "가족을 위해 먹을 것을 찾아 집을 떠난 한 젊은 여성이 긴 길 위에 서게 됩니다.",
    ),
    (
        "A former factory worker on hunger, faith and learning to trust again.",
        "전직 공장 노동자가 들려주는 굶주림과 믿음, 그리고 다시 믿는 법을 배우는 이야기.",
    ),
    (
        "A mother tells her children about the journey she never spoke of.",
        "한 어머니가 한 번도 말하지 않았던 여정을 아이들에게 들려줍니다.",
    ),
    ("From a mountain village to a night school in the city.", "산골 마을에서 도시의 야간 학교까지."),
    (
        "Years of waiting, one phone call, and the decision to go.",
        "기다림의 세월, 전화 한 통, 그리고 떠나기로 한 결심.",
    ),
    ("A cook remembers the kitchens that kept her alive.", "한 요리사가 자신을 살게 해 준 부엌들을 기억합니다."),
    ("Two brothers, one river, and the promise they made each other.", "두 형제, 하나의 강, 그리고 서로에게 한 약속."),
    (
        "Arriving with nothing, and building a life one day at a time.",
        "아무것도 없이 도착해 하루하루 삶을 일구어 간 이야기.",
    ),
    (
        "A grandmother's memories of the hungry years and the neighbours who shared.",
        "굶주리던 시절과 가진 것을 나누던 이웃들에 대한 한 할머니의 기억.",
    ),
    ("What it means to start school again at twenty-five.", "스물다섯에 다시 학교를 다닌다는 것의 의미."),
    ("A story about faith found in small kindnesses.", "작은 친절 속에서 찾은 믿음에 관한 이야기."),
    (
        "Finding work, losing it, and finding it again in a new country.",
        "새 나라에서 일을 찾고, 잃고, 다시 찾은 이야기.",
    ),
    ("A daughter searches for the words to describe the home she left.", "한 딸이 떠나온 집을 설명할 말을 찾아갑니다."),
    ("A quiet account of a crossing, told many years later.", "여러 해가 지나 조용히 들려주는 국경을 넘은 이야기."),
]
PART_TITLES = [
    ("The River in Winter", "겨울의 강"),
    ("Counting Days", "날을 세며"),
    ("A Borrowed Coat", "빌린 외투"),
    ("The Last Ration", "마지막 배급"),
    ("Night Walk", "밤길"),
    ("The Stranger with the Lantern", "등불을 든 낯선 사람"),
    ("Across the Water", "물을 건너"),
    ("A Bowl of Rice", "밥 한 그릇"),
    ("The Small Church", "작은 교회"),
    ("First Morning", "첫 아침"),
    ("Bright Streets", "밝은 거리"),
    ("The Bus Ticket", "버스표"),
    ("Lessons After Dark", "어둠 뒤의 수업"),
    ("My First Pay", "첫 월급"),
    ("The Kitchen Door", "부엌문"),
    ("Letters I Could Not Send", "부치지 못한 편지"),
    ("A Diploma at Last", "마침내 받은 졸업장"),
    ("Peppers on the Balcony", "베란다의 고추"),
    ("What My Mother Said", "어머니가 한 말"),
    ("The Hills", "언덕"),
    ("Waiting", "기다림"),
    ("Ice and Stars", "얼음과 별"),
    ("A New Name", "새 이름"),
    ("The Long Road South", "남쪽으로 가는 먼 길"),
    ("Rice Cakes from a Neighbour", "이웃이 건넨 떡"),
    ("Learning to Read Again", "다시 배우는 글"),
    ("The Phone Call", "전화 한 통"),
    ("Spring Again", "다시 봄"),
    ("Hands That Remember", "기억하는 손"),
    ("The Quiet Room", "조용한 방"),
    ("A Prayer Until Morning", "아침까지의 기도"),
    ("One More Spoon", "숟가락 하나 더"),
    ("Where the Fields End", "들판이 끝나는 곳"),
    ("The Interview", "면접"),
    ("Homework at Midnight", "자정의 숙제"),
    ("A Letter Home", "고향에 보내는 편지"),
    ("The Harvest We Missed", "놓쳐 버린 추수"),
    ("Sunrise", "해돋이"),
    ("Still Here", "여전히 여기에"),
    ("Beginning Again", "다시 시작"),
]
PART_SUMMARIES = [
    ("The winter the rations stopped, and the night the decision was made.", "배급이 끊긴 겨울, 그리고 결심을 한 밤."),
    ("A stranger's help, and a debt that can never be repaid.", "낯선 이의 도움, 그리고 결코 갚을 수 없는 빚."),
    (
        "Learning to use a bank card, a bus ticket and a new name.",
        "은행 카드와 버스표, 그리고 새 이름을 쓰는 법을 배웁니다.",
    ),
    ("The first job, the first pay, and the first warm coat.", "첫 일자리, 첫 월급, 그리고 첫 따뜻한 외투."),
    ("Days in the hills, moving only after dark.", "어두워진 뒤에만 움직이던 언덕에서의 날들."),
    ("A small church, a blanket, and a prayer without words.", "작은 교회, 담요 한 장, 그리고 말 없는 기도."),
    ("Back at a school desk, years later.", "여러 해 만에 다시 앉은 학교 책상."),
    ("Memories of a house that was always full of voices.", "언제나 목소리로 가득했던 집에 대한 기억."),
    ("The morning the city stopped feeling strange.", "도시가 더 이상 낯설지 않게 된 아침."),
    ("Why this story is being told now.", "이 이야기를 지금 하는 까닭."),
    ("A letter that could not be sent, written anyway.", "부칠 수 없지만 그래도 써 내려간 편지."),
    ("Hunger, and the neighbours who shared what little they had.", "굶주림, 그리고 가진 것이 적어도 나누던 이웃들."),
    ("Crossing the water on a night without a moon.", "달 없는 밤에 물을 건넙니다."),
    ("Peppers on the balcony, and a taste of home.", "베란다의 고추, 그리고 고향의 맛."),
    ("A diploma, at last.", "마침내 받은 졸업장."),
]

# --- Sentences --------------------------------------------------------------------------------------

SLOTS = {
    "relative": [
        ("my mother", "어머니"),
        ("my father", "아버지"),
        ("my grandmother", "할머니"),
        ("my grandfather", "할아버지"),
        ("my younger brother", "남동생"),
        ("my younger sister", "여동생"),
        ("my aunt", "이모"),
        ("my uncle", "삼촌"),
        ("my son", "아들"),
        ("my daughter", "딸"),
    ],
    "season": [("winter", "겨울"), ("spring", "봄"), ("summer", "여름"), ("autumn", "가을")],
    "place": [
        ("the river", "강"),
        ("the hills", "언덕"),
        ("the border town", "국경 마을"),
        ("the railway line", "철길"),
        ("the fields", "들판"),
        ("the forest", "숲"),
    ],
    "days": [(str(n), str(n)) for n in (3, 4, 5, 6, 7, 9, 11, 12, 14, 20)],
    "years": [(str(n), str(n)) for n in (2, 3, 4, 5, 6, 7, 8)],
    "job": [
        ("a nurse", "간호사"),
        ("a cook", "요리사"),
        ("a bus driver", "버스 기사"),
        ("a hairdresser", "미용사"),
        ("a welder", "용접공"),
        ("a social worker", "사회복지사"),
        ("a baker", "제빵사"),
        ("a care worker", "요양보호사"),
        ("an interpreter", "통역사"),
    ],
    "plant": [
        ("peppers", "고추"),
        ("lettuce", "상추"),
        ("balsam flowers", "봉숭아"),
        ("perilla", "들깨"),
        ("pumpkins", "호박"),
    ],
}

SENTENCES = {
    "family": [
        (
            "{Relative} used to wake before dawn to light the stove.",
            "{relative|은} 새벽이 오기 전에 일어나 아궁이에 불을 지피곤 했습니다.",
        ),
        (
            "We shared one bowl of soup between four people, and nobody complained.",
            "우리는 국 한 그릇을 네 식구가 나누어 먹었고, 아무도 불평하지 않았습니다.",
        ),
        (
            "I still remember {relative} singing quietly in the kitchen.",
            "부엌에서 나지막이 노래하던 {relative|을} 나는 아직도 기억합니다.",
        ),
        ("When I think of home, I think first of {relative}.", "고향을 생각하면 가장 먼저 {relative|이} 떠오릅니다."),
        ("Every {season} the whole family mended the roof together.", "{season}마다 온 가족이 함께 지붕을 고쳤습니다."),
        (
            "{Relative} told me never to forget where I came from.",
            "{relative|은} 내가 어디에서 왔는지 절대 잊지 말라고 했습니다.",
        ),
        (
            "We had no photographs, so I learned every face by heart.",
            "우리에게는 사진이 없어서, 나는 얼굴 하나하나를 마음에 새겨 두었습니다.",
        ),
        (
            "Some evenings I still set out one more spoon than we need.",
            "어떤 저녁에는 아직도 필요한 것보다 숟가락을 하나 더 놓습니다.",
        ),
        ("Our house was small, but it was always full of voices.", "우리 집은 작았지만 언제나 목소리로 가득했습니다."),
    ],
    "hunger": [
        (
            "That {season} the rations stopped, and the market became our only hope.",
            "그해 {season}에 배급이 끊겼고, 시장이 우리의 유일한 희망이 되었습니다.",
        ),
        ("We boiled grass and pine bark to fill our stomachs.", "우리는 배를 채우려고 풀과 소나무 껍질을 삶았습니다."),
        ("{Relative} always claimed to have eaten already.", "{relative|은} 늘 벌써 먹었다고 말했습니다."),
        (
            "Hunger teaches you to count everything: grains, days, footsteps.",
            "배고픔은 모든 것을 세게 만듭니다. 낟알도, 날짜도, 발걸음도.",
        ),
        (
            "I learned to walk slowly so that I would not waste my strength.",
            "나는 힘을 아끼려고 천천히 걷는 법을 배웠습니다.",
        ),
        (
            "Even then, our neighbours shared the little they had.",
            "그때에도 이웃들은 가진 것이 적어도 서로 나누었습니다.",
        ),
        (
            "A handful of corn had to last us until the next morning.",
            "옥수수 한 줌으로 다음 날 아침까지 버텨야 했습니다.",
        ),
    ],
    "escape": [
        (
            "We left at night, carrying nothing that could make a sound.",
            "우리는 소리 날 만한 것은 하나도 들지 않고 밤에 떠났습니다.",
        ),
        ("The water was colder than anything I had ever touched.", "물은 내가 만져 본 그 무엇보다 차가웠습니다."),
        (
            "A stranger showed us the path and asked for nothing in return.",
            "낯선 사람이 길을 알려 주었고, 아무 대가도 바라지 않았습니다.",
        ),
        (
            "For {days} days we slept in the hills and moved only after dark.",
            "{days}일 동안 우리는 언덕에서 자고 어두워진 뒤에만 움직였습니다.",
        ),
        (
            "I told myself that every step was a step closer to freedom.",
            "나는 한 걸음 한 걸음이 자유에 더 가까워지는 걸음이라고 스스로에게 말했습니다.",
        ),
        ("I was afraid, but I was more afraid of staying.", "두려웠지만, 남는 것이 더 두려웠습니다."),
        (
            "We did not speak of the people we had left behind; it hurt too much.",
            "우리는 두고 온 사람들에 대해 말하지 않았습니다. 너무 아팠기 때문입니다.",
        ),
        (
            "When the sun rose over {place}, I knew there was no turning back.",
            "{place} 위로 해가 떠오를 때, 나는 이제 돌아갈 수 없다는 것을 알았습니다.",
        ),
        (
            "The voice on the phone said: *if you are caught, you will be sent back.*",
            "전화기 너머의 목소리가 말했습니다. *잡히면 돌려보내집니다.*",
        ),
    ],
    "faith": [
        (
            "A woman at a small church gave me a blanket and a bowl of rice.",
            "작은 교회의 한 여성이 내게 담요와 밥 한 그릇을 주었습니다.",
        ),
        (
            "I did not know how to pray, so I simply said thank you.",
            "나는 기도하는 법을 몰라서 그저 감사하다고만 말했습니다.",
        ),
        ("Faith, for me, began with the kindness of strangers.", "내게 믿음은 낯선 이들의 친절에서 시작되었습니다."),
        (
            "On the hardest nights I repeated the same short prayer until morning.",
            "가장 힘든 밤이면 나는 아침이 올 때까지 같은 짧은 기도를 되풀이했습니다.",
        ),
        (
            "I still go to the early service, because the quiet there feels like home.",
            "나는 지금도 새벽 예배에 갑니다. 그곳의 고요함이 집처럼 느껴지기 때문입니다.",
        ),
        (
            "Someone I had never met had prayed for me, and I could feel it.",
            "한 번도 만난 적 없는 누군가가 나를 위해 기도해 주었고, 나는 그것을 느낄 수 있었습니다.",
        ),
        (
            "I keep a small notebook of the people who helped me along the way.",
            "나는 길에서 나를 도와준 사람들을 작은 수첩에 적어 둡니다.",
        ),
    ],
    "work": [
        (
            "My first job was washing dishes in a restaurant kitchen.",
            "내 첫 일자리는 식당 주방에서 설거지를 하는 일이었습니다.",
        ),
        (
            "I worked twelve hours a day and saved every coin I could.",
            "나는 하루 열두 시간씩 일하며 동전 하나까지 모았습니다.",
        ),
        (
            "My manager was patient when I did not understand the words.",
            "내가 말을 알아듣지 못할 때에도 사장님은 참을성 있게 기다려 주었습니다.",
        ),
        (
            "With my first pay I bought a warm coat and thought of {relative}.",
            "첫 월급으로 따뜻한 외투를 사면서 {relative|을} 생각했습니다.",
        ),
        ("Today I work as {job}, and I am proud of it.", "지금 나는 {job|으로} 일하고 있고, 그 일이 자랑스럽습니다."),
        (
            "Work gave me more than money; it gave me a place to belong.",
            "일은 내게 돈보다 더 많은 것을 주었습니다. 내가 속할 자리를 주었습니다.",
        ),
        (
            "I was slow at first, but my hands remembered how to be careful.",
            "처음에는 느렸지만, 내 손은 조심하는 법을 기억하고 있었습니다.",
        ),
    ],
    "school": [
        (
            "I had missed {years} years of school, so I sat with children half my age.",
            "나는 {years}년 동안 학교에 다니지 못해서, 나보다 한참 어린 아이들과 함께 앉았습니다.",
        ),
        (
            "Learning English felt like climbing a mountain with no top.",
            "영어를 배우는 것은 꼭대기가 없는 산을 오르는 것 같았습니다.",
        ),
        (
            "A teacher stayed late every day to help me with mathematics.",
            "한 선생님이 매일 늦게까지 남아 내 수학 공부를 도와주었습니다.",
        ),
        (
            "The day I received my diploma, I could not stop smiling.",
            "졸업장을 받던 날, 나는 웃음을 멈출 수가 없었습니다.",
        ),
        (
            "At first I was ashamed of my accent; now I am not.",
            "처음에는 내 말투가 부끄러웠지만, 지금은 그렇지 않습니다.",
        ),
        (
            "Books became windows onto a world I had never been allowed to see.",
            "책은 한 번도 볼 수 없었던 세상을 보여 주는 창이 되었습니다.",
        ),
        (
            "I studied on the bus, in the laundry room, anywhere I could sit.",
            "나는 버스에서도, 세탁실에서도, 앉을 수 있는 곳이면 어디서든 공부했습니다.",
        ),
    ],
    "arrival": [
        (
            "The first thing I noticed was how bright the streets were at night.",
            "가장 먼저 눈에 띈 것은 밤거리가 얼마나 밝은지였습니다.",
        ),
        (
            "I did not know how to use a bank card or buy a bus ticket.",
            "나는 은행 카드를 쓰는 법도, 버스표를 사는 법도 몰랐습니다.",
        ),
        (
            "Everything was new, and everything was a little frightening.",
            "모든 것이 새로웠고, 모든 것이 조금은 두려웠습니다.",
        ),
        (
            "A volunteer taught me to cook with vegetables I had never seen.",
            "한 자원봉사자가 처음 보는 채소로 요리하는 법을 가르쳐 주었습니다.",
        ),
        ("Slowly, the city stopped feeling like a stranger.", "천천히, 도시는 더 이상 낯설게 느껴지지 않았습니다."),
        (
            "I planted {plant} on my balcony, just as we did at home.",
            "고향에서처럼 나는 베란다에 {plant|을} 심었습니다.",
        ),
        (
            "My neighbour knocked on my door with a plate of rice cakes.",
            "이웃이 떡 한 접시를 들고 우리 집 문을 두드렸습니다.",
        ),
    ],
    "hope": [
        (
            "I tell this story so that no one can say it did not happen.",
            "아무도 이런 일이 없었다고 말할 수 없도록 나는 이 이야기를 합니다.",
        ),
        ("Memory is heavy, but silence is heavier.", "기억은 무겁지만, 침묵은 더 무겁습니다."),
        ("I hope that one day {relative} will read these words.", "언젠가 {relative|이} 이 글을 읽게 되기를 바랍니다."),
        (
            "Some parts of my life I keep only for myself, and that is my right.",
            "내 삶의 어떤 일은 나만 간직하고 있고, 그것은 나의 권리입니다.",
        ),
        (
            "I dream of the {season} when families can visit each other freely.",
            "가족들이 서로 자유롭게 오갈 수 있는 {season|을} 꿈꿉니다.",
        ),
        ("I am more than what happened to me.", "나는 내게 일어난 일보다 더 큰 사람입니다."),
        ("Every morning I choose to begin again.", "나는 매일 아침 다시 시작하기로 선택합니다."),
    ],
}

QUOTES = [
    ("I told myself I would be back before the ice melted.", "얼음이 녹기 전에 돌아오겠다고 스스로에게 말했습니다."),
    (
        "*You are going to stay,* she said, and I believed her.",
        "*당신은 여기 머물게 될 거예요.* 그녀가 말했고, 나는 그 말을 믿었습니다.",
    ),
    ("Nobody here was counting anything.", "이곳에서는 아무도 무언가를 세고 있지 않았습니다."),
    ("Home is the people who wait for you.", "집은 나를 기다려 주는 사람들입니다."),
    ("I was not brave. I simply kept walking.", "나는 용감하지 않았습니다. 그저 계속 걸었을 뿐입니다."),
    ("My name here is new, but my heart is the same.", "이곳에서 내 이름은 새것이지만, 내 마음은 그대로입니다."),
    ("Tomorrow is a word I learned to trust again.", "내일은 내가 다시 믿게 된 말입니다."),
    ("We carried each other when our legs could not.", "다리가 말을 듣지 않을 때 우리는 서로를 업고 갔습니다."),
    ("Freedom smelled like bread and rain.", "자유는 빵과 비 냄새가 났습니다."),
    ("I want my children to know where they come from.", "내 아이들이 자신이 어디에서 왔는지 알았으면 합니다."),
    ("A kind word can be a whole meal.", "다정한 말 한마디가 한 끼 식사가 될 수 있습니다."),
    ("I count my blessings now, not my days.", "이제 나는 날짜가 아니라 감사한 일들을 셉니다."),
]
SECTION_BREAK = ("* * *", "* * *")

# --- Consent notes (staff only, never translated) ---------------------------------------------------

GIVEN_NOTES = [
    "Invented: consent given at interview.",
    "Invented: consent given after the storyteller read the final text.",
    "Invented: consent renewed by phone.",
    "Invented: consent confirmed in person with an interpreter.",
]
WITHDRAWAL_NOTES = [
    "Invented: the storyteller asked for the story to be taken down.",
    "Invented: the storyteller prefers to keep the story private for now.",
    "Invented: the storyteller is worried about relatives and asked to withdraw.",
]

# --- Campaigns --------------------------------------------------------------------------------------

CAMPAIGN_KICKERS = [("Urgent", "긴급"), ("Act now", "지금 행동해 주세요"), ("Update", "새 소식"), ("Appeal", "호소")]
CAMPAIGN_BYLINES = [
    ("A call for action from our volunteers", "자원봉사자들이 드리는 행동 요청"),
    ("From the resettlement team", "정착 지원팀에서"),
    ("A message from our caseworkers", "상담원들이 전하는 메시지"),
]
CAMPAIGN_TITLES = [
    ("Families held at the border need your voice", "국경에 붙잡힌 가족들에게 당신의 목소리가 필요합니다"),
    ("Help newcomers through their first winter", "새로 정착한 이들의 첫 겨울을 도와주세요"),
    ("Keep the night classes open", "야간 교실이 문을 닫지 않도록 함께해 주세요"),
    ("Ask for safe passage for those in hiding", "숨어 지내는 이들의 안전한 통행을 요청해 주세요"),
    ("Stand with mothers separated from their children", "자녀와 헤어진 어머니들과 함께해 주세요"),
    ("Fund warm meals at the community kitchen", "지역 급식소의 따뜻한 식사를 후원해 주세요"),
    ("Write for the right not to be sent back", "돌려보내지지 않을 권리를 위해 편지를 써 주세요"),
    ("Support counselling in Korean and English", "한국어와 영어로 하는 상담을 후원해 주세요"),
    ("Books for the youngest readers", "가장 어린 독자들에게 책을"),
    ("Open the door to a first job", "첫 일자리의 문을 열어 주세요"),
]
CAMPAIGN_SENTENCES = [
    (
        "People who escaped are being held near a border and could be returned within days.",
        "탈출한 사람들이 국경 근처에 붙잡혀 있으며 며칠 안에 돌려보내질 수 있습니다.",
    ),
    ("Those who are sent back face prison and worse.", "돌려보내진 사람들은 수감과 그보다 더한 일을 겪습니다."),
    ("Governments listen when many people write at once.", "많은 사람이 한꺼번에 편지를 쓰면 정부는 귀를 기울입니다."),
    (
        "Your letter takes five minutes and can change what happens next.",
        "편지 한 통은 5분이면 충분하고, 앞으로 일어날 일을 바꿀 수 있습니다.",
    ),
    (
        "Newcomers often arrive in winter with nothing but the clothes they wear.",
        "새로 온 이들은 입고 있는 옷 한 벌만으로 겨울에 도착하는 경우가 많습니다.",
    ),
    (
        "A warm coat, a first meal and a friendly face make the first weeks bearable.",
        "따뜻한 외투와 첫 끼니, 다정한 얼굴이 있으면 처음 몇 주를 견딜 수 있습니다.",
    ),
    (
        "Night classes help adults finish the schooling they were denied.",
        "야간 교실은 배움의 기회를 빼앗겼던 어른들이 학업을 마치도록 돕습니다.",
    ),
    (
        "Counselling in their own language helps people carry what they have lived through.",
        "자기 언어로 받는 상담은 사람들이 겪어 온 일을 견디어 내도록 돕습니다.",
    ),
    (
        "Every gift, large or small, goes directly to the people in this campaign.",
        "크든 작든 모든 후원금은 이 캠페인의 사람들에게 곧바로 전해집니다.",
    ),
    (
        "**Forced return is not inevitable.** Letters have delayed returns before.",
        "**강제송환은 피할 수 없는 일이 아닙니다.** 편지가 송환을 늦춘 적이 있습니다.",
    ),
    (
        "Please share the stories beside this campaign with someone you trust.",
        "이 캠페인 옆의 이야기들을 믿을 만한 사람과 나누어 주세요.",
    ),
]
CAMPAIGN_FOOTER = (
    "*This campaign is invented for testing at scale.*",
    "*이 캠페인은 대규모 시험을 위해 지어낸 것입니다.*",
)

LETTER_SUBJECTS = [
    ("Please protect the refugees in your care", "귀 정부가 맡고 있는 난민들을 지켜 주십시오"),
    ("Please do not send them back", "그들을 돌려보내지 말아 주십시오"),
]
LETTER_BODY = (
    "Your Excellency,\n\n"
    "I am writing about the people from North Korea who are held in your country and may soon be sent back.\n\n"
    "I respectfully ask your government not to return them, and to let them travel safely to a country "
    "of their choice.\n\n"
    "Thank you for passing this letter on.\n\n"
    "Yours sincerely,\n[Your name]\n[Your town and country]",
    "관계자 여러분께\n\n"
    "귀 정부가 붙잡고 있는 북한 출신 사람들에 관해 편지를 드립니다. 이들은 곧 돌려보내질 수 있습니다.\n\n"
    "귀 정부가 이들을 돌려보내지 말고, 스스로 원하는 나라로 안전하게 갈 수 있게 해 주시기를 정중히 요청합니다.\n\n"
    "이 편지를 전해 주시면 감사하겠습니다.\n\n"
    "[이름] 올림\n[사는 도시와 나라]",
)
SOCIAL_POSTS = [
    (
        "People who fled are waiting for safety. Read their stories and add your voice:",
        "피난한 사람들이 안전을 기다리고 있습니다. 이야기를 읽고 목소리를 보태 주세요.",
    ),
    (
        "Every letter counts. Write to the embassies today:",
        "편지 한 통 한 통이 소중합니다. 오늘 대사관에 편지를 보내 주세요.",
    ),
]
ACTION_TEXT = {
    "letter": (
        ("Write to the embassies", "대사관에 편지 쓰기"),
        ("A short, polite letter works best.", "짧고 정중한 편지가 가장 좋습니다."),
    ),
    "social": (
        ("Share the campaign", "캠페인 알리기"),
        ("The more people know, the better.", "더 많은 사람이 알수록 좋습니다."),
    ),
    "donate": (
        ("Give today", "오늘 후원하기"),
        ("Gifts pay for food, shelter and travel.", "후원금은 식량과 쉼터, 이동에 쓰입니다."),
    ),
    "monthly": (
        ("Give every month", "매달 후원하기"),
        ("Monthly gifts let us plan ahead.", "정기 후원이 있으면 미리 계획할 수 있습니다."),
    ),
    "newsletter": (
        ("Hear what happens next", "다음 소식 받기"),
        ("We write when something changes.", "달라지는 일이 있으면 알려 드립니다."),
    ),
}
BUTTON_LABELS = {"donate": ("Give now", "지금 후원하기"), "monthly": ("Give monthly", "매달 후원하기")}

# --- Filling templates ------------------------------------------------------------------------------

_SLOT = re.compile(r"\{(\w+)(?:\|(\w+))?\}")
# Particles after a syllable with a final consonant, and without one.
_PARTICLES = {"은": ("은", "는"), "이": ("이", "가"), "을": ("을", "를"), "과": ("과", "와")}


def with_particle(word: str, particle: str) -> str:
    """Attach a Korean particle in the form that suits the word's last syllable."""
    code = ord(word[-1]) - 0xAC00
    final = code % 28 if 0 <= code < 11172 else 0
    if particle == "으로":
        # ㄹ (final 8) takes 로, as a vowel does.
        return word + ("로" if final in (0, 8) else "으로")
    with_final, without_final = _PARTICLES[particle]
    return word + (with_final if final else without_final)


def fill(template: str, language: str, values: dict[str, tuple[str, str]]) -> str:
    """Fill a template's slots with the value in the language; a capitalised slot capitalises it."""
    index = LANGUAGES.index(language)

    def replace(match: re.Match) -> str:
        name, particle = match.group(1), match.group(2)
        value = values[name.lower()][index]
        if name[0].isupper():
            value = value[0].upper() + value[1:]
        return with_particle(value, particle) if particle and language == KO else value

    return _SLOT.sub(replace, template)


def fill_pair(pair: tuple[str, str], values: dict[str, tuple[str, str]]) -> tuple[str, str]:
    return fill(pair[0], EN, values), fill(pair[1], KO, values)


def pick_values(rng: random.Random) -> dict[str, tuple[str, str]]:
    return {name: rng.choice(choices) for name, choices in SLOTS.items()}


def pseudonym(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.4:
        qualifier, name = rng.choice(QUALIFIERS), rng.choice(QUALIFIED_NAMES)
        return f"{qualifier[0]} {name[0]}", f"{qualifier[1]} {name[1]}"
    return rng.choice(NAMES)


def bio(rng: random.Random, name: tuple[str, str]) -> tuple[str, str]:
    origin, now = rng.choice(ORIGINS), rng.choice(NOW)
    return (
        f"{name[0]} grew up {origin[0]}. {now[0]}",
        f"{with_particle(name[1], '은')} {origin[1]} 자랐습니다. {now[1]}",
    )


def story_title(rng: random.Random, name: tuple[str, str]) -> tuple[str, str]:
    if rng.random() < 0.35:
        return f"{name[0]}'s Story", f"{name[1]}의 이야기"
    return rng.choice(STORY_TITLES)


def paragraph(rng: random.Random, theme: str) -> tuple[str, str]:
    """A paragraph of three to six sentences on one theme, in both languages."""
    sentences = SENTENCES[theme]
    values = pick_values(rng)
    chosen = rng.sample(sentences, rng.randint(3, min(6, len(sentences))))
    pairs = [fill_pair(sentence, values) for sentence in chosen]
    return " ".join(en for en, _ko in pairs), " ".join(ko for _en, ko in pairs)


def campaign_body(rng: random.Random) -> tuple[str, str]:
    paragraphs = []
    for _ in range(rng.randint(2, 4)):
        chosen = rng.sample(CAMPAIGN_SENTENCES, rng.randint(2, 3))
        paragraphs.append((" ".join(en for en, _ko in chosen), " ".join(ko for _en, ko in chosen)))
    paragraphs.append(CAMPAIGN_FOOTER)
    return "\n\n".join(en for en, _ko in paragraphs), "\n\n".join(ko for _en, ko in paragraphs)


# --- Bodies, rendered once per block ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Body:
    """A part body in both languages: Markdown, stored HTML and reading time."""

    markdown: dict[str, str]
    html: dict[str, str]
    minutes: dict[str, int]


class BodyBank:
    """A fixed set of invented bodies, each rendered once however many parts share it.

    A body is a sequence of blocks (paragraphs, quotes, a section break) from a pool. Each block is
    rendered once; a body's HTML is its blocks' HTML joined by newlines, which is what rendering
    the whole body gives, block by block (``verify()`` proves it). A body's ``earlier`` version
    lacks its last paragraph: the original as it was when a now stale translation was approved.
    """

    def __init__(
        self,
        *,
        seed: int,
        render: Callable[[str], str],
        minutes: Callable[[str, str], int],
        size: int,
        paragraphs: int = 2500,
    ) -> None:
        self.seed = seed
        self.size = max(1, size)
        self._render = render
        self._minutes = minutes
        rng = random.Random(f"{seed}:paragraphs")  # noqa: S311 - seeded on purpose, for repeatable data
        themes = sorted(SENTENCES)
        # Each paragraph's theme, so that a body never dwells on one theme twice in a row.
        self._themes = [rng.choice(themes) for _ in range(paragraphs)]
        self.blocks: list[tuple[str, str]] = [paragraph(rng, theme) for theme in self._themes]
        self.quotes = range(len(self.blocks), len(self.blocks) + len(QUOTES))
        self.blocks += [(f"> {en}", f"> {ko}") for en, ko in QUOTES]
        self.section_break = len(self.blocks)
        self.blocks.append(SECTION_BREAK)
        self._words = [len(en.split()) for en, _ko in self.blocks]
        self._html: dict[int, tuple[str, str]] = {}
        self._bodies: dict[tuple[int, bool], Body] = {}

    def block_html(self, index: int) -> tuple[str, str]:
        html = self._html.get(index)
        if html is None:
            en, ko = self.blocks[index]
            html = self._html[index] = (self._render(en), self._render(ko))
        return html

    def sequence(self, variant: int) -> tuple[int, ...]:
        """The blocks of one body: about 300 to 2,000 words, never two quotes in a row, a paragraph last."""
        rng = random.Random(f"{self.seed}:body:{variant}")  # noqa: S311
        target = min(2000, max(300, int(rng.lognormvariate(6.65, 0.45))))
        paragraphs = len(self.blocks) - len(QUOTES) - 1
        blocks: list[int] = []
        words = 0
        while words < target:
            if len(blocks) >= 2 and blocks[-1] < paragraphs and rng.random() < 0.12:
                blocks.append(rng.choice(self.quotes))
            elif len(blocks) >= 6 and self.section_break not in blocks and rng.random() < 0.04:
                blocks.append(self.section_break)
            index = rng.randrange(paragraphs)
            while blocks and blocks[-1] < paragraphs and self._themes[index] == self._themes[blocks[-1]]:
                index = rng.randrange(paragraphs)
            blocks.append(index)
            words = sum(self._words[block] for block in blocks)
        return tuple(blocks)

    def body(self, variant: int, *, earlier: bool = False) -> Body:
        """One of the bank's bodies; ``earlier`` gives it without its last paragraph."""
        key = (variant % self.size, earlier)
        body = self._bodies.get(key)
        if body is None:
            blocks = self.sequence(key[0])
            if earlier:
                blocks = blocks[:-1]
            markdown, html, minutes = {}, {}, {}
            for index, code in enumerate(LANGUAGES):
                markdown[code] = "\n\n".join(self.blocks[block][index] for block in blocks)
                html[code] = "\n".join(self.block_html(block)[index] for block in blocks)
                minutes[code] = self._minutes(html[code], code)
            body = self._bodies[key] = Body(markdown=markdown, html=html, minutes=minutes)
        return body

    def verify(self, variants: int = 3) -> None:
        """Check that joining rendered blocks gives exactly what rendering a whole body gives."""
        for variant in range(min(variants, self.size)):
            body = self.body(variant)
            for code in LANGUAGES:
                if self._render(body.markdown[code]) != body.html[code]:
                    raise ValueError(
                        f"Rendering body {variant} ({code}) block by block differs from rendering it whole."
                    )
