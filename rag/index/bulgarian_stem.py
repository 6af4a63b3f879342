"""A light stemmer for Bulgarian: Snowball has none.

This is J. Savoy's light stemmer ("Searching strategies for the Bulgarian language", Information
Retrieval 10, 2007), in the form Lucene ships as `BulgarianStemmer`: it removes the definite
article, then plural endings (undoing the k/g/h to ц/з/с palatalisation), then a final vowel. It
was chosen over a statistical or dictionary stemmer because it needs no data file, is a few rules
in linear time, and is the one measured for Bulgarian retrieval in the literature; over Russian
Snowball applied to Bulgarian words (what the index did before), it knows Bulgarian's articles and
plurals instead of Russian case endings.
"""

from __future__ import annotations


def _remove_article(word: str) -> str:
    size = len(word)
    if size > 6 and word.endswith("ият"):
        return word[:-3]
    if size > 5 and word.endswith(("ът", "то", "те", "та", "ия")):
        return word[:-2]
    if size > 4 and word.endswith("ят"):
        return word[:-2]
    return word


def _remove_plural(word: str) -> str:
    size = len(word)
    if size > 6:
        if word.endswith("овци"):
            return word[:-3]  # "-овци" -> "-о"
        if word.endswith("ове"):
            return word[:-3]
        if word.endswith("еве"):
            return word[:-3] + "й"
    if size > 5:
        if word.endswith("ища"):
            return word[:-3]
        if word.endswith("та"):
            return word[:-2]
        if word.endswith("ци"):
            return word[:-2] + "к"
        if word.endswith("зи"):
            return word[:-2] + "г"
        if word[-3] == "е" and word[-1] == "и":
            return word[:-3] + "я" + word[-2]
    if size > 4:
        if word.endswith("си"):
            return word[:-2] + "х"
        if word.endswith("и"):
            return word[:-1]
    return word


def stem(word: str) -> str:
    """The stem of one lower-case Bulgarian word."""
    if len(word) < 4:
        return word
    if len(word) > 5 and word.endswith("ища"):
        return word[:-3]
    word = _remove_plural(_remove_article(word))
    if len(word) > 3:
        if word.endswith("я"):
            word = word[:-1]
        if word.endswith(("а", "о", "е")):
            word = word[:-1]
    if len(word) > 4 and word.endswith("ен"):
        word = word[:-2] + "н"
    if len(word) > 5 and word[-2] == "ъ":
        word = word[:-2] + word[-1]
    return word
