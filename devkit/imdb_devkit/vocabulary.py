"""The synthetic IMDb's vocabulary: genres, names, words and categories, and the id formats.

Shared by the generator (synth.py) and the days' churn (churn.py), which draws new genres,
names and billing from the same pools, so neither imports the other for them.
"""

from __future__ import annotations

import random

from imdb_loader import datasets as registry

NULL = registry.NULL_MARKER

GENRES = (
    "Action", "Adult", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary",
    "Drama", "Family", "Fantasy", "Film-Noir", "Game-Show", "History", "Horror", "Music",
    "Musical", "Mystery", "News", "Reality-TV", "Romance", "Sci-Fi", "Short", "Sport",
    "Talk-Show", "Thriller", "War", "Western",
)  # fmt: skip
# Relative weights of the non-series, non-episode types (rough 2025 proportions).
OTHER_TITLE_TYPES = (
    ("short", 1000), ("movie", 720), ("video", 300), ("tvMovie", 150), ("tvSpecial", 50),
    ("videoGame", 45), ("tvShort", 30), ("tvPilot", 2),
)  # fmt: skip
PROFESSIONS = (
    "actor", "actress", "producer", "writer", "director", "miscellaneous", "camera_department",
    "editor", "composer", "cinematographer", "art_department", "sound_department", "soundtrack",
    "music_department", "casting_director", "stunts", "self", "archive_footage",
)  # fmt: skip
WORDS_LATIN = (
    "Night", "Love", "Return", "House", "Last", "Summer", "Blood", "Dream", "River", "King",
    "Secret", "Road", "Amélie", "Señor", "Über", "Ærø", "Łódź", "Ça va", "Smørrebrød", "Ångström",
    "Noël", "Fjörður", "Ñandú", "Straße", "Kärlek", "Çiçek", "Đêm", "Żółw",
)  # fmt: skip
WORDS_OTHER_SCRIPTS = (
    "Война и мир", "Брат", "Ёлки", "Ζορμπάς", "Οδύσσεια", "千と千尋の神隠し", "霸王别姬", "기생충",
    "الرسالة", "وجدة", "ואלס עם באשיר", "दिलवाले", "शोले", "ฟ้าทะลายโจร", "Ἰλιάς", "ሰላም",
    "Ջան", "ქართული", "🎬", "🚀 Rocket", "👨‍👩‍👧 Family", "❤️", "e\u0301te\u0301", "𝔊𝔬𝔱𝔥𝔦𝔠",
)  # fmt: skip
FIRST_NAMES = (
    "Anna", "John", "María", "José", "Björk", "Zoë", "François", "Søren", "Łukasz", "Ngozi",
    "Сергей", "Анна", "Μελίνα", "黒澤", "李", "민준", "عمر", "נטלי", "अमिताभ", "ณัฐ", "Chloë",
    "Mary", "James", "Li", "Aiyana", "Olúwa", "Đorđe", "Ìyá",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "García", "Müller", "Nguyễn", "Kowalski", "O'Brien", "Guðmundsdóttir", "Ørsted",
    "Бондарчук", "Иванова", "Μερκούρη", "明", "小龙", "김", "الشريف", "פורטמן", "बच्चन",
    "วงศ์", "Johnson", "Brown", "Dvořák", "Şahin", "Łęcki", "van der Berg",
)  # fmt: skip
CHARACTERS = (
    "Himself", "Herself", "Narrator", "Detective", "The Doctor", "Mother", "Young Boy",
    "Анна Каренина", "李小龙", "Ελένη", "ليلى", "Self - Host", "Guest", "Dr. Strangelove",
)  # fmt: skip
PRINCIPAL_CATEGORIES = (
    "actor", "actress", "self", "director", "writer", "producer", "composer", "cinematographer",
    "editor", "production_designer", "casting_director", "archive_footage", "archive_sound",
)  # fmt: skip
WRITER_JOBS = ("screenplay", "story", "novel", "written by", "teleplay", "characters")
PRODUCER_JOBS = ("producer", "executive producer", "co-producer", "line producer")
# (region, language, pool of localized words)
AKA_REGIONS = (
    ("US", "en", WORDS_LATIN), ("GB", "en", WORDS_LATIN), ("DE", "de", WORDS_LATIN),
    ("FR", "fr", WORDS_LATIN), ("ES", "es", WORDS_LATIN), ("IT", "it", WORDS_LATIN),
    ("BR", "pt", WORDS_LATIN), ("JP", "ja", ("千と千尋の神隠し", "東京物語", "七人の侍")),
    ("RU", "ru", ("Война и мир", "Брат", "Ёлки")), ("GR", "el", ("Ζορμπάς", "Οδύσσεια")),
    ("IN", "hi", ("दिलवाले", "शोले")), ("TH", "th", ("ฟ้าทะลายโจร",)), ("IL", "he", ("ואלס עם באשיר",)),
    ("EG", "ar", ("الرسالة", "وجدة")), ("KR", "ko", ("기생충", "올드보이")), ("CN", "zh", ("霸王别姬",)),
    ("XWW", "en", WORDS_LATIN),
)  # fmt: skip
AKA_TYPES = ("imdbDisplay", "alternative", "working", "festival", "dvd", "tv", "video")
AKA_ATTRIBUTES = (
    "literal English title", "informal title", "short title", "alternative spelling",
    "complete title", "promotional title", "new title",
)  # fmt: skip
NON_ISO_REGIONS = ("XWW", "XEU", "SUHH", "CSHH", "XYU", "DDDE")


def tconst(index: int) -> str:
    """``tt`` + at least seven digits, as IMDb writes ids (tt0000001, tt10000000)."""
    return f"tt{index + 1:07d}"


def nconst(index: int) -> str:
    return f"nm{index + 1:07d}"


def draw_genres(rng: random.Random) -> str:
    """A genres field: up to three, sorted, popular ones likelier; sometimes none (NULL)."""
    if rng.random() < 0.05:
        return NULL
    picked = {GENRES[int(rng.random() ** 1.3 * len(GENRES))] for _ in range(1 + int(rng.random() * 3))}
    return ",".join(sorted(picked))
