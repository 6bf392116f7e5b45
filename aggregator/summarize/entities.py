"""Typed named entities of an article, offline: capitalised spans, a stop list, cross-sentence evidence.

A span counts when it is more than a capital at the start of a sentence: it appears inside a
sentence, or more than once. Aliases within the story merge ("Adam Neumann" and "Neumann",
"Google" and "Google's"). The type comes from the span's shape and its neighbours: a
company suffix or acronym (org), a version number or mixed case (model, product), a title
or "said" beside it (person), a preposition of place or a known country (place).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from aggregator.llm.segment import split_sentences

TYPES = ("org", "product", "model", "person", "place", "other")
MAX_ENTITIES = 12


def _words(text: str) -> frozenset[str]:
    """Return the whitespace-separated words of a list written as text."""
    return frozenset(text.split())


_SPAN = re.compile(
    r"(?<![\w@#])(?:[A-Z][\w’'&.+-]*[\w+]|[a-z]+[A-Z][\w.+-]*)"
    r"(?:\s(?:of|de|von|van|der|la|du|and|&)?\s?(?:[A-Z][\w’'&.+-]*[\w+]|\d[\w.]*[\w+]?))*"
)
_SENTENCE_END = re.compile(r"[.!?:;\"“”]\s+$|^\s*$|\n\s*$")
_STOP_TEXT = """
A An And As At But By For From If In Into It Its On Or Of So The Then There These This Those
To With Without While When Where Which Who Why What How After Before During Since Until Also
Although Though However Because Yet Still Even Just Only Every Each Some Many Most More Much
Nobody Everyone Everybody Someone Somebody Anyone Nothing Something Everything Half Between
Among Around About Above Below Over Under Here Now Today Yesterday Tomorrow Tonight Once Twice
I I'm I've We We're You You're He She They Them Our Their His Her My Your Me Us Mr Mrs Ms Dr
Sir Prof Jr Sr St Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February
March April June July August September October November December Jan Feb Mar Apr Jun Jul Aug
Sep Sept Oct Nov Dec UTC GMT EST PST CET AM PM Price Prices Yes No Not Please Thanks Thank
Update Updated Read More Click Share Subscribe Advertisement Photo Image Video Source Sources
Editor Editors Note Related Comments Comment Reply News First Last Next Hey Hi Oh Wow
One Two Three Four Five Six Seven Eight Nine Ten Part Chapter Step Figure Table Section Page
Let Don't Do Does Did Is Are Was Were Be Been Has Have Had Can Could Will Would Should May
Might Must Shall Our Other Another Such All Both Either Neither Several Few Any None Despite
Like Unlike Instead Meanwhile Finally First Second Third Overall Indeed Perhaps Maybe Really
Earlier Later Recently Currently According Including Given Based Per Via Via Than That Whether
Series Close Breaking Watch Listen Sign Log Login Week Weeks Day Days Year Years Month Company Group
Add Use Make Try Start Avoid Keep Set Install Run Click Choose Pick Take Put Remove Place Mix
Stir Bake Cook Pour Check Create Write Find Get Go Remember Consider Stop Eat Drink Plan Save
Build Follow Learn Think Focus Ask Look Combine Heat Serve Store Prepare Boil Simmer Cut Chop
Available Expected Says Said Report Reports Exclusive Opinion Analysis Review Inch Pro Max
kW kWh MW GW mAh CEO CFO CTO COO TV EV EVs SUV SUVs AI PC GDP IPO FAQ PDF HTML URL OK LOL TL DR TLDR PS AD BC
"""
_STOP = _words(_STOP_TEXT)
# Adjectives that may begin a name ("New York", "Open Source Initiative") but are none alone.
_LONE = _words(
    "New Good Great Big Small High Low Free Full Open Live Top Best Latest Home Change Graphic"
)
_DEMONYMS_TEXT = """
American Americans French Chinese British Indian Russian German Japanese Democratic Republican
Republicans Democrat Democrats European African Asian Canadian Australian Mexican Israeli
Palestinian Iranian Korean Italian Spanish Swedish Ukrainian Nigerian Syrian Turkish Muslim
Christian Jewish Catholic English Scottish Irish Dutch Brazilian Pakistani Egyptian Saudi
Taiwanese Vietnamese Polish Greek Swiss Austrian Belgian Danish Norwegian Finnish
Conservative Liberal Labour Tory Tories Portuguese Austrians Palestinians Israelis Indians Delhiites
"""
_DEMONYMS = _words(_DEMONYMS_TEXT)
# Roles written before a name ("Disney Chief Executive Bob Iger"): the name is what follows.
_ROLES = _words("""
President Vice Chief Executive Officer CEO Chairman Chairwoman Chair Founder Director Minister
Prime Secretary Senator Sen Sen. Rep Rep. Gov Gov. Governor Speaker Attorney General Judge
Justice Coach Mayor Ambassador Commissioner Spokesman Spokeswoman Professor Prof Prof. Dr Dr.
Mr Mr. Mrs Mrs. Ms Ms. Sir Lord Lady King Queen Prince Princess Pope Sheriff Officer Captain
Manager Head Editor Reporter Analyst Author Star Actor Actress Singer Rapper Pastor Rabbi
Imam Hon Hon. Deputy Acting Former Senior Interim Leader Guard Quarterback Striker Defender
""")
_TIME_WORD = re.compile(
    r"^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?$|^(?:Q[1-4]|H[12])$"
)
_UNIT = re.compile(r"^\d[\d.,]*\s?(?:%|[kKMGT]?B|[kKmM]?[mgs]|GHz|MHz|km|mph|fps|[kKmMbB]n?)?$")
_ORG_WORDS = _words("""
Inc Inc. Corp Corp. Corporation Co Co. Company Ltd Ltd. LLC PLC plc Group Holdings Bank Capital
University College Institute Agency Department Ministry Council Committee Commission Party
Association Foundation Labs Lab Technologies Systems Networks Partners Ventures Media News
Times Post Journal Press Reuters Airlines Airline Motors Studios Games Court Senate House Office
Service Services Administration Authority Board Police Army Navy Force Union Federation
League Club Team Fund Trust Society Center Centre Museum School Hospital Clinic Network
Brothers Records Pictures Entertainment Software Microsystems Semiconductor Research AI
Dynamics Health Compute Computing Compact Collective Robotics Cloud Energy Therapeutics Pharma
Aerospace Analytics Security Insurance Studio Works Industries Solutions Consortium Alliance
""")
_PLACE_WORDS = _words("""
City County State Province Island Islands Valley River Mountain Mountains Lake Bay Street
Avenue Road Park Square Region District Coast Peninsula Republic Kingdom Emirates Gulf Sea
Ocean Desert Hills Beach Harbor Harbour Airport Station Bridge
""")
_PLACES = _words("""
Afghanistan Africa Albania Algeria America Amsterdam Argentina Asia Athens Atlanta Australia
Austria Bangladesh Barcelona Beijing Belgium Berlin Bolivia Boston Brazil Britain Brussels
Buffalo California Cambodia Canada Chicago Chile China Cleveland Colombia Colorado Cuba
Dallas Delhi Denmark Detroit Dubai Egypt England Ethiopia Europe Finland Florida France
Georgia Germany Ghana Greece Hawaii Hanoi Houston India Indiana Indonesia Iran Iraq Ireland
Israel Italy Japan Jerusalem Kenya Korea London Madrid Manchester Maryland Melbourne Mexico
Miami Michigan Milan Minnesota Moscow Mumbai Netherlands Nevada Nigeria Norway Ohio Oregon
Pakistan Paris Peru Philippines Pittsburgh Poland Portland Portugal Russia Scotland Seattle
Seoul Shanghai Singapore Spain Sweden Switzerland Sydney Syria Taiwan Texas Tokyo Toronto
Turkey Ukraine Utah Venezuela Vienna Vietnam Virginia Wales Washington Zurich UK U.S. US USA
EU Qatar Yemen Lebanon Jordan Cyprus Croatia Serbia Romania Hungary Czechia Slovakia Iceland
Lisbon Porto Oslo Dublin Stockholm Copenhagen Helsinki Prague Warsaw Rome Munich Hamburg Lyon
Edinburgh Glasgow Austin Denver Phoenix Columbus Bangalore Shenzhen Taipei Nairobi Lagos Cairo
Brooklyn Manhattan Hollywood Kentucky Mississippi Louisiana Arizona
Alabama Alaska Arkansas Connecticut Delaware Idaho Illinois Iowa Kansas Maine Massachusetts
Missouri Montana Nebraska Oklahoma Pennsylvania Tennessee Vermont Wisconsin Wyoming Dakota
""")
# Companies a tech and AI news service meets every day (their names give no other clue).
_ORGS = _words("""
Google Alphabet Apple Microsoft Amazon Meta Facebook Instagram WhatsApp OpenAI Anthropic Nvidia
Intel AMD Arm Qualcomm Tesla SpaceX Netflix Disney Twitter Toyota Nissan Volkswagen Ford Audi
BMW Walmart SoftBank Samsung Sony IBM Oracle Salesforce Uber Lyft Airbnb WeWork DeepMind Reddit
GitHub GitLab Mozilla Cloudflare Huawei Alibaba Tencent Baidu ByteDance TikTok Spotify Adobe
Dell Cisco Boeing Airbus Reuters Bloomberg Stripe Shopify Dropbox Slack Zoom LinkedIn YouTube
Cohere Mistral xAI Perplexity Databricks Snowflake Intel NASA ESA Pfizer Coty
""") | {"Hugging Face", "Silicon Valley", "Mistral AI", "Stability AI", "Home Depot", "Blue Origin"}
_PERSON_TITLES = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Sen|Rep|Gov|Gen|Sgt|Lt|Col|Capt|St)\.?|\b(?:President|CEO|"
    r"Chairman|Chairwoman|founder|co-founder|director|minister|Minister|Secretary|Senator|"
    r"Governor|coach|Coach|Judge|Justice|author|professor|Professor|researcher|analyst|"
    r"chief executive|spokesperson|spokesman|spokeswoman|singer|actor|actress|Prince|Princess|"
    r"King|Queen|Pope|Ambassador|ambassador|Mayor|mayor|reporter|writer|editor|player|star)"
    r")\s+$"
)
_SAYS_AFTER = re.compile(
    r"^,?\s*(?:\(\w+\)\s*)?(?:said|says|told|wrote|added|explained|argued|,\s*\d{1,3},)"
)
_MODEL = re.compile(
    r"(?:GPT|Llama|LLaMA|Claude|Gemini|Mistral|Mixtral|Qwen|Phi|Gemma|DeepSeek|Falcon|BERT|T5|"
    r"Whisper|Stable Diffusion|DALL|Sora|Grok|Command)\b",
)
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_CONNECTORS = frozenset(["of", "de", "von", "van", "der", "la", "du", "and", "&"])
_LOWER_WORD = re.compile(r"(?<![\w.!?]\s)(?<=\s)[a-z][a-z-]+\b")
_ACRONYM = re.compile(r"^[A-Z][A-Z&]{1,6}$")


@dataclass(frozen=True)
class Entity:
    """A named entity of a story and what kind of thing it is."""

    name: str
    type: str

    def as_dict(self) -> dict[str, str]:
        """Return the entity as the API shows it."""
        return {"name": self.name, "type": self.type}


def _trim(span: str) -> str:
    """Return a span without leading stop words, possessives, and trailing stop words or numbers."""
    words = span.replace("’", "'").split()
    while words and (
        words[0].rstrip(".,") in _STOP
        or _TIME_WORD.match(words[0])
        or _UNIT.match(words[0])
        or (words[0] in _DEMONYMS and len(words) > 1)
    ):
        words.pop(0)
    roles = [i for i, w in enumerate(words[:-1]) if w in _ROLES]
    if roles and roles[-1] + 1 < len(words):
        words = words[roles[-1] + 1 :]
    words = [w[:-2] if w.endswith("'s") else w for w in words]
    while words and (words[-1].rstrip(".,") in _STOP or words[-1].lower() in ("of", "and", "&")):
        words.pop()
    while (
        len(words) > 1
        and _UNIT.match(words[-1])
        and (not _versioned(words[:-1]) or _YEAR.match(words[-1]))
    ):
        words.pop()
    name = " ".join(words).strip(" ,-'&")
    # "U.S." keeps its dots; a sentence's full stop after a name goes.
    if re.fullmatch(r"(?:[A-Z]\.)+[A-Z]", name):
        return name + "."
    return name if re.fullmatch(r"(?:[A-Z]\.){2,}", name) else name.rstrip(".")


def _versioned(words: list[str]) -> bool:
    """Return True when a name takes a number after it (products and models: iPhone 11, GPT 4)."""
    head = " ".join(words)
    return bool(_MODEL.search(head)) or any(w[:1].islower() or _mixed(w) for w in words)


def _mixed(word: str) -> bool:
    """Return True for product-like casing (iPhone, WeWork), not surnames (McDonald, MacLeod)."""
    if re.match(r"^(?:Mc|Mac|O'|D'|De|Di|La|Le)[A-Z]", word):
        return False
    return bool(re.search(r"[a-z][A-Z]", word))


def _junk(name: str) -> bool:
    """Return True for spans that are no name: units, dates, lone stop words, one letter."""
    if len(name) < 2 or name in _STOP or _UNIT.match(name) or _TIME_WORD.match(name):
        return True
    if not (name[0].isupper() or name[0].isdigit() or _mixed(name.split()[0])):
        return True  # "of", "kWh": a lower-case start is a name only when cased like iPhone
    if re.search(r"'(?:ve|ll|re|d|m|t)\b", name):
        return True  # You've, It'll
    if name in _LONE or name in _DEMONYMS or name in _ROLES or name in _ORG_WORDS:
        return True
    words = name.split()
    if all(w in _ROLES or w in _ORG_WORDS or w in _LONE for w in words):
        return True  # "Strategy Officer", "News Agency": a role or a kind of body, no name
    if len(words) > 1 and all(w.isupper() for w in words):
        return True  # a shouted heading ("IN SD", "CLICK FOR RESULTS"), not a name
    return not any(c.isalpha() for c in name)


def _type(name: str, before: str, after: str) -> str:
    """Return the entity type from the name's shape and its neighbours in the sentence."""
    words = name.split()
    if _MODEL.search(name) and (any(c.isdigit() for c in name) or len(words) == 1):
        return "model"
    if name in _ORGS:
        return "org"
    if words[-1] in ("API", "SDK", "CLI", "app", "App"):
        return "product"
    if words[-1].rstrip(".") in _ORG_WORDS.union({w.rstrip(".") for w in _ORG_WORDS}):
        return "org"
    if name in _PLACES or words[-1] in _PLACE_WORDS:
        return "place"
    if (
        any(c.isdigit() for c in name)
        or any(w[:1].islower() for w in words)
        or any(_mixed(w) for w in words if not _ACRONYM.match(w))
    ):
        return "product"
    if _PERSON_TITLES.search(before) or (len(words) in (2, 3) and _SAYS_AFTER.match(after)):
        return "person"
    if _ACRONYM.match(name):
        return "org"
    return "other"


def _spans(sentences: list[str]) -> list[tuple[str, bool, str, str]]:
    """Return (name, at sentence start, text before, text after) for every capitalised span."""
    found = []
    for sentence in sentences:
        for match in _SPAN.finditer(sentence):
            for name in _pieces(match.group(0)):
                found += _one(sentence, match, _trim(name))
    return found


def _pieces(span: str) -> list[str]:
    """Return a span cut at "and" and at capitalised stop words inside it ("Pro With Keyboard")."""
    pieces: list[list[str]] = [[]]
    for word in span.split():
        # "Ifeoma Daniels of Harrow Daniels" is two names; "Bank of America" is one.
        after_body = word == "of" and pieces[-1] and pieces[-1][-1] in _ORG_WORDS | _PLACE_WORDS
        if word == "and" or (word == "of" and not after_body) or (word in _STOP and pieces[-1]):
            pieces.append([])
        else:
            pieces[-1].append(word)
    return [" ".join(p) for p in pieces if p]


def _one(sentence: str, match: re.Match[str], name: str) -> list[tuple[str, bool, str, str]]:
    """Return the span as a one-element list, or none when it is no name."""
    found = []
    if not _junk(name):
        before = sentence[max(0, match.start() - 40) : match.start()]
        start = not before.strip() or bool(_SENTENCE_END.search(before))
        starts_sentence = start and sentence[match.start() :].startswith(name)
        found.append((name, starts_sentence, before, sentence[match.end() : match.end() + 40]))
    return found


def _canonical(names: Counter[str]) -> dict[str, str]:
    """Return alias -> the story's fullest name ("Neumann" -> "Adam Neumann")."""
    full = sorted(names, key=lambda n: (-len(n.split()), -names[n]))
    alias: dict[str, str] = {}
    for name in names:
        alias[name] = name
        if len(name.split()) == 1:
            for longer in full:
                parts = longer.split()
                if len(parts) > 1 and name in (parts[0], parts[-1]) and name not in _PLACES:
                    alias[name] = longer
                    break
    return alias


def find_entities(title: str, text: str, limit: int = MAX_ENTITIES) -> list[Entity]:
    """Return the story's typed entities, most mentioned first, aliases merged."""
    # Headlines are often Title Case throughout: they only confirm names the text gives.
    sentences = split_sentences(text)[:200]
    spans = _spans(sentences)
    counts: Counter[str] = Counter(name for name, _, _, _ in spans)
    alias = _canonical(counts)
    # A capital at the start of a sentence proves nothing unless the name (or an alias of it)
    # also appears inside one.
    inside = {alias[name] for name, start, _, _ in spans if not start}
    # A word the article also writes in lower case is a common word ("Spot prices fell",
    # "sparse attention"), not a name, when it stands alone.
    common = set(_LOWER_WORD.findall(text))
    alias = {
        name: canon
        for name, canon in alias.items()
        if canon in inside and not (" " not in canon and canon.lower() in common)
    }
    merged: Counter[str] = Counter()
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for name, _start, before, after in spans:
        if name not in alias:
            continue
        canon = alias[name]
        merged[canon] += 1
        kind = _type(canon, before, after)
        if kind == "person" and any(w.lower() in common for w in canon.split()):
            kind = "other"  # "Northwind Compute said": a person's name has no common words
        votes[canon][kind] += 1
        if canon != name and canon.split()[-1] == name and canon not in _PLACES:
            votes[canon]["person"] += 1  # called by the surname alone: a person
    # One mention in a long article is usually a passing name; the title's names always count.
    minimum = 2 if len(sentences) > 12 else 1
    ranked = [n for n, c in merged.most_common() if c >= minimum or n in title]
    return [Entity(n, _pick_type(votes[n])) for n in ranked[:limit]]


def _pick_type(votes: Counter[str]) -> str:
    """Return the most voted specific type ("other" only when nothing more specific was seen)."""
    specific = [(c, t) for t, c in votes.items() if t != "other"]
    return max(specific)[1] if specific else "other"


def type_names(names: list[str], found: list[Entity], text: str) -> list[Entity]:
    """Return the model's entity names that the article contains, typed like the offline ones."""
    known = {e.name.lower(): e for e in found}
    out: dict[str, Entity] = {}
    for raw in names:
        name = _trim(" ".join(str(raw).split()))
        if not name or _junk(name) or name.lower() not in text.lower():
            continue
        entity = known.get(name.lower()) or Entity(name, _type(name, "", ""))
        out.setdefault(entity.name.lower(), entity)
    return list(out.values())[:MAX_ENTITIES]
