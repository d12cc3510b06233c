"""An editor's regeneration comment read as actions every provider can obey.

"The vaccines section has nothing to do with sleep. Focus on night-shift workers"
becomes: exclude "vaccines", focus on "night-shift workers". Retrieval drops the
sources an exclusion names and ranks focus sources first; the offline composer
leaves out sentences on an excluded term, writes to the new length and tone; an
LLM gets the same sources and target length, and the comment verbatim.

The reading is a small set of phrase patterns, deliberately literal: an editor
can see in the job what was understood, and rephrase if it was not.
"""

import re
from dataclasses import asdict, dataclass

from generation.similarity import text_terms

SHORTER_FACTOR = 0.7  # "shorter" asks for at least a fifth fewer words
LONGER_FACTOR = 1.4
MIN_TARGET_WORDS = 200
MAX_TARGET_WORDS = 3000

_CLAUSE_END = re.compile(r"[.;!?\n]+|\bbut\b", re.IGNORECASE)
_SHORTER = re.compile(
    r"\b(?:shorter|too long|more concise|less wordy|trim(?: it)?(?: down)?|"
    r"cut (?:it|this) down|tighten(?: it)?(?: up)?|condense(?: it)?)\b",
    re.IGNORECASE,
)
_LONGER = re.compile(
    r"\b(?:longer|too short|expand(?: it| on it)?|more depth|go deeper)\b",
    re.IGNORECASE,
)
_WORDS = re.compile(
    r"\b(?:about|around|roughly|approximately|under|at most|no more than|~)?\s*"
    r"(\d{2,4})\s*words?\b",
    re.IGNORECASE,
)
TONE_WORDS = (
    "formal|informal|casual|conversational|friendly|friendlier|warm|warmer|serious|"
    "playful|neutral|plain|simple|simpler|lively|livelier|authoritative|upbeat|"
    "technical|accessible"
)
_TONE = re.compile(
    rf"\b(?:(?P<degree>more|less)\s+)?(?P<word>{TONE_WORDS})\b(?:\s+tone)?|"
    r"\btone\s*(?:should be|:|of)\s*(?P<free>[a-z ,-]{3,40})",
    re.IGNORECASE,
)
# "X has nothing to do with Y": X is what goes; Y is the article's subject.
_SUBJECT_NEGATIONS = re.compile(
    r"\b(?:has|have|had) nothing to do with\b|"
    r"\b(?:is|are|was|were)(?: not|n't) (?:relevant|needed|about|on topic)\b|"
    r"\b(?:is|are|was|were) (?:irrelevant|unrelated|off[- ]topic|beside the point)\b|"
    r"\b(?:does|do)(?: not|n't) belong\b",
    re.IGNORECASE,
)
# "Drop the vaccines part", "less about money": what follows goes.
_OBJECT_NEGATIONS = re.compile(
    r"\b(?:nothing about|not about|no more|(?:do not|don't|dont) (?:mention|include|"
    r"cover|talk about|discuss)|leave out|get rid of|drop|remove|delete|cut|skip|"
    r"without|less about|less on|less|(?<!\bis )(?<!\bare )(?<!\bwas )not|no)\b",
    re.IGNORECASE,
)
_FOCUSES = re.compile(
    r"\b(?:focus(?: more)? on|concentrate on|more about|more on|emphasi[sz]e|"
    r"lead with|start with|should be about|instead,? (?:write )?about|"
    r"talk about|write about)\b",
    re.IGNORECASE,
)
_LIST_SPLIT = re.compile(r",|\band\b|\bor\b|&", re.IGNORECASE)
# Words that name a part of the draft, not its subject: "the vaccines section".
_FILLER = frozenset(
    """section sections part parts paragraph paragraphs bit bits piece stuff thing
    things article draft story text mention mentions material content heading
    whole entire bits ending intro introduction sentence sentences line lines""".split()
)


@dataclass(frozen=True)
class FeedbackActions:
    """What a comment asks for; each term is the editor's own words."""

    exclude: tuple[str, ...] = ()
    focus: tuple[str, ...] = ()
    length: str = ""  # "", "shorter", "longer" or "words"
    words: int | None = None  # "about N words"
    tone: str = ""

    @property
    def exclude_stems(self) -> set[str]:
        return {stem for term in self.exclude for stem in text_terms(term)}

    @property
    def focus_stems(self) -> set[str]:
        return {stem for term in self.focus for stem in text_terms(term)}

    def as_json(self) -> dict:
        data = asdict(self)
        data["exclude"], data["focus"] = list(self.exclude), list(self.focus)
        return data

    @classmethod
    def from_json(cls, data: dict | None) -> "FeedbackActions":
        data = data or {}
        return cls(
            exclude=tuple(data.get("exclude") or ()),
            focus=tuple(data.get("focus") or ()),
            length=data.get("length") or "",
            words=data.get("words"),
            tone=data.get("tone") or "",
        )

    def target_words(self, *, current: int, minimum: int = MIN_TARGET_WORDS) -> int:
        """The length to write to, from the length the editor saw (of the
        article, or of one section with a smaller `minimum`)."""
        if self.length == "words" and self.words:
            wanted = self.words
        elif self.length == "shorter":
            wanted = round(current * SHORTER_FACTOR)
        elif self.length == "longer":
            wanted = round(current * LONGER_FACTOR)
        else:
            return current
        return max(minimum, min(MAX_TARGET_WORDS, wanted))

    def tone_for(self, tone: str) -> str:
        return self.tone or tone


def _terms(phrase: str) -> list[str]:
    """The subjects a phrase names: "the vaccines section and antibiotics" ->
    ["vaccines", "antibiotics"]."""
    found = []
    for part in _LIST_SPLIT.split(phrase):
        words = [
            word
            for word in re.findall(r"[A-Za-z0-9][A-Za-z0-9'-]*", part)
            if word.lower() not in _FILLER and text_terms(word)
        ]
        if words:
            found.append(" ".join(words).lower())
    return found


def _spans(pattern: re.Pattern, clause: str) -> list[tuple[int, int]]:
    return [match.span() for match in pattern.finditer(clause)]


def _clause_read(clause: str, exclude: list[str], focus: list[str]) -> None:
    triggers = sorted(
        [(start, end, "subject") for start, end in _spans(_SUBJECT_NEGATIONS, clause)]
        + [(start, end, "exclude") for start, end in _spans(_OBJECT_NEGATIONS, clause)]
        + [(start, end, "focus") for start, end in _spans(_FOCUSES, clause)]
    )
    # An object-negation inside a subject one ("is not relevant") is part of it.
    kept: list[tuple[int, int, str]] = []
    for trigger in triggers:
        if kept and trigger[0] < kept[-1][1]:
            continue
        kept.append(trigger)
    for index, (start, end, kind) in enumerate(kept):
        if kind == "subject":
            before = kept[index - 1][1] if index else 0
            exclude.extend(_terms(clause[before:start]))
            continue
        after = kept[index + 1][0] if index + 1 < len(kept) else len(clause)
        object_text = clause[end:after]
        (exclude if kind == "exclude" else focus).extend(_terms(object_text))


def feedback_parse(comment: str) -> FeedbackActions:
    """The actions an editor's comment asks for (empty when none is recognised)."""
    text = " ".join((comment or "").split())
    length, words, tone = "", None, ""
    match = _WORDS.search(text)
    if match:
        length, words = "words", int(match.group(1))
    elif _SHORTER.search(text):
        length = "shorter"
    elif _LONGER.search(text):
        length = "longer"
    tone_match = _TONE.search(text)
    if tone_match:
        tone = (
            tone_match.group("free")
            or " ".join(
                part for part in tone_match.group("degree", "word") if part
            ).lower()
        ).strip(" ,")
    # Length and tone phrases ("cut it down", "less formal") are not subjects.
    remaining = text
    for pattern in (_WORDS, _SHORTER, _LONGER, _TONE):
        remaining = pattern.sub(" ", remaining)
    exclude: list[str] = []
    focus: list[str] = []
    for clause in _CLAUSE_END.split(remaining):
        if clause.strip():
            _clause_read(clause, exclude, focus)
    exclude = list(dict.fromkeys(exclude))
    excluded_stems = {stem for term in exclude for stem in text_terms(term)}
    focus = [
        term
        for term in dict.fromkeys(focus)
        if not set(text_terms(term)) <= excluded_stems
    ]
    return FeedbackActions(
        exclude=tuple(exclude),
        focus=tuple(focus),
        length=length,
        words=words,
        tone=tone,
    )


def text_mentions(terms: list[str], stems: set[str]) -> int:
    """How many of the text's terms are among `stems`."""
    return sum(1 for term in terms if term in stems)
