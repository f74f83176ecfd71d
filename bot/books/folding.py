"""How titles and authors are compared: folded here in Python, never by the database.

PostgreSQL's lower() and its text-search parser follow the server's locale: under a C
locale (systemd, Docker without LANG) lower('ВОЙНА') is 'ВОЙНА' and the parser takes
'«война»' for one word. Folding in Python gives the same keys and words on every server.
"""

import unicodedata

# Far below PostgreSQL's 2,047-byte limit on one word of a tsvector, even after folding
# (4 bytes a character); a search never has a longer word than this (SEARCH_MAX_LENGTH).
WORD_MAX_LENGTH = 100


def folded(text: str) -> str:
    """The text as the duplicate check and the catalog order see it: compatibility
    forms unified (ﬁ → fi, full-width → ASCII), case folded in any script, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def search_words(text: str) -> list[str]:
    """The words of text as search matches them: folded and without accents (a search
    for 'cafe' or 'ежик' finds 'Café' and 'Ёжик'), split at anything that is not a
    letter, digit or mark, so quotes and punctuation never reach the query."""
    decomposed = unicodedata.normalize("NFKD", folded(text))
    words: list[str] = []
    word: list[str] = []
    for character in decomposed + " ":
        category = unicodedata.category(character)
        if category == "Mn":  # an accent, once decomposed
            continue
        if category[0] in "LMN":
            word.append(character)
        elif word:
            words.append(unicodedata.normalize("NFC", "".join(word))[:WORD_MAX_LENGTH])
            word = []
    return words


def search_vector(title: str, author: str) -> str:
    """The words of a book in PostgreSQL's tsvector syntax. Each word is quoted and taken
    as it is, so the server's parser and dictionaries (locale-dependent) play no part;
    words hold only letters, digits and marks, never a quote or backslash to escape."""
    words = dict.fromkeys(search_words(title) + search_words(author))
    return " ".join(f"'{word}'" for word in words)


def prefix_query(text: str) -> str | None:
    """A tsquery matching books that have, for every word of text, a word starting with
    it; None when text has no words (only punctuation, say)."""
    words = dict.fromkeys(search_words(text))
    if not words:
        return None
    return " & ".join(f"'{word}':*" for word in words)
