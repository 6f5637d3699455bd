"""A deterministic demo education network (members, organizations, affiliations and
collaborations) as plain Python data, shaped so the graph analytics have something real to find."""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice

MIN_MEMBERS = 20
MAX_MEMBERS = 5000

REGIONS = ("north", "south", "east", "west")
ORGANIZATION_KINDS = ("association", "district", "nonprofit", "university", "school", "foundation")
MEMBER_ROLES = ("teacher", "coach", "principal", "district_leader", "researcher", "facilitator")
AFFILIATION_ROLES = ("member", "staff", "board", "fellow")
COLLABORATION_KINDS = ("project", "mentoring", "co-facilitation", "partnership", "event")
TOPICS = (
    "literacy", "math", "equity", "sel", "ell",
    "stem", "leadership", "assessment", "special_education", "early_childhood",
)
POPULATIONS = (
    "black_students", "latino_students", "native_students", "asian_american_students",
    "students_in_poverty", "english_learners", "students_with_disabilities", "rural",
)

# name, kind, region, topics, relative headcount
_ORGANIZATIONS = (
    ("Northern Literacy Collaborative", "association", "north", ("literacy", "early_childhood", "ell"), 1.2),
    ("Lakeshore Unified School District", "district", "north", ("math", "assessment", "leadership"), 1.6),
    ("Southside Equity Alliance", "nonprofit", "south", ("equity", "sel", "ell"), 1.0),
    ("Gulf State University College of Education", "university", "south",
     ("assessment", "stem", "special_education"), 0.9),
    ("Eastgate Community School", "school", "east", ("sel", "literacy", "early_childhood"), 0.6),
    ("Eastern Math Teachers Association", "association", "east", ("math", "stem", "assessment"), 1.1),
    ("High Plains Rural Schools Network", "nonprofit", "west", ("leadership", "equity", "special_education"), 1.0),
    ("Sierra Learning Foundation", "foundation", "west", ("stem", "leadership", "equity"), 0.6),
)

# Weights over MEMBER_ROLES: who an organization of each kind tends to gather.
_ROLE_WEIGHTS = {
    "association": (6, 2, 1, 0.5, 0.5, 1),
    "district": (5, 2, 2, 2, 0, 0.5),
    "nonprofit": (3, 2, 1, 1, 1, 2),
    "university": (1, 1, 0, 0, 5, 1),
    "school": (7, 2, 1, 0, 0, 0.5),
    "foundation": (2, 1, 1, 1, 2, 3),
}

_TITLES = {
    "teacher": ("3rd Grade Teacher", "Math Teacher", "ELA Teacher", "Science Teacher",
                "Kindergarten Teacher", "ESL Teacher", "Special Education Teacher"),
    "coach": ("Instructional Coach", "Literacy Coach", "Math Coach", "Data Coach"),
    "principal": ("Principal", "Assistant Principal", "Head of School"),
    "district_leader": ("Director of Curriculum", "Assistant Superintendent",
                        "Chief Academic Officer", "Director of Multilingual Learners"),
    "researcher": ("Research Associate", "Assistant Professor", "Postdoctoral Fellow", "Policy Analyst"),
    "facilitator": ("Program Facilitator", "Professional Learning Lead", "Network Facilitator"),
}

_FIRST_NAMES = (
    "Aaliyah", "Adriana", "Ahmed", "Aisha", "Alejandro", "Amara", "Ana", "Andre", "Angela", "Anh",
    "Arjun", "Beatriz", "Benjamin", "Brianna", "Camila", "Carlos", "Chloe", "Daniel", "Darnell", "Deja",
    "Diego", "Dmitri", "Elena", "Elijah", "Emily", "Esperanza", "Fatima", "Gabriel", "Grace", "Hana",
    "Héctor", "Imani", "Isabel", "Jamal", "Jasmine", "Javier", "Jennifer", "Jin", "José", "Kalani",
    "Kareem", "Keisha", "Kenji", "Kwame", "Laila", "Latoya", "Leticia", "Lucía", "Malik", "Marcus",
    "María", "Maya", "Mei", "Michael", "Nadia", "Naomi", "Ngozi", "Nia", "Omar", "Priya",
    "Rafael", "Rashida", "Ricardo", "Rosa", "Samuel", "Sarah", "Sofia", "Tamika", "Terrence", "Thomas",
    "Tiana", "Valentina", "Victor", "Wei", "Xavier", "Yesenia", "Yusuf", "Zainab", "Zoe", "Ruth",
)

_LAST_NAMES = (
    "Adeyemi", "Ali", "Alvarez", "Anderson", "Baker", "Banks", "Begay", "Bennett", "Brooks", "Campbell",
    "Castillo", "Castro", "Chavez", "Chen", "Coleman", "Cruz", "Davis", "Delgado", "Díaz", "Edwards",
    "Flores", "Foster", "García", "Gomez", "Gonzalez", "Green", "Guzman", "Harris", "Hernández", "Hill",
    "Huang", "Jackson", "James", "Jefferson", "Johnson", "Kim", "King", "Lee", "Lewis", "López",
    "Martinez", "Mendoza", "Mitchell", "Morales", "Morgan", "Nguyen", "O'Brien", "Okafor", "Ortiz", "Patel",
    "Pérez", "Phillips", "Ramírez", "Reyes", "Rivera", "Robinson", "Rodriguez", "Romero", "Sanchez", "Santos",
    "Scott", "Shah", "Singh", "Smith", "Tanaka", "Taylor", "Thompson", "Torres", "Tran", "Turner",
    "Vasquez", "Walker", "Washington", "White", "Williams", "Wilson", "Wright", "Yazzie", "Young", "Zhang",
)

_TOPIC_LABELS = {"sel": "SEL", "ell": "ELL", "stem": "STEM"}

_NOTES = {
    "project": ("Joint {topic} inquiry project", "Redesigned a {topic} unit together"),
    "mentoring": ("Coaching cycle on {topic}", "First-year mentoring with a {topic} focus"),
    "co-facilitation": ("Co-led a {topic} PLC", "Co-facilitated a {topic} workshop series"),
    "partnership": ("Joint {topic} grant", "Shared {topic} fellowship cohort"),
    "event": ("Met at a regional {topic} convening", "Presented together at a {topic} summit"),
}

_EPOCH = date(2015, 1, 1)
_HORIZON = date(2025, 12, 31)


@dataclass(frozen=True)
class DemoNetwork:
    organizations: tuple[dict, ...]
    members: tuple[dict, ...]
    affiliations: tuple[dict, ...]
    collaborations: tuple[dict, ...]


@dataclass(frozen=True)
class _TieStyle:
    kinds: tuple[str, ...]
    kind_weights: tuple[float, ...]
    strength_weights: tuple[float, ...]  # over strengths 1..5


# Colleagues tie strongly; ties across organizations are mostly a shared event, hence weak.
_COLLEAGUES = _TieStyle(("project", "mentoring", "co-facilitation", "event"), (4, 2, 2, 3), (1, 2, 3, 3, 2))
_ACQUAINTANCES = _TieStyle(("project", "event"), (1, 2), (3, 3, 2, 1, 0))
_BROKERAGE = _TieStyle(("project", "co-facilitation"), (3, 2), (0, 2, 3, 2, 1))
_OUTREACH = _TieStyle(("mentoring",), (1,), (0, 1, 2, 1, 0))
_PARTNERSHIP = _TieStyle(("partnership",), (1,), (0, 1, 2, 2, 1))


def generate_demo_network(seed: int = 7, members: int = 300) -> DemoNetwork:
    """Generate a demo network of `members` members (20..5000) from `seed`, deterministically.

    Structure the analytics can rely on:

    - Clusters: eight organizations across four regions; each member belongs to one
      (some to two) and collaborates mostly inside it (average degree about 5-7, with
      triadic closure), so community detection recovers the organizations.
    - Regions: the two organizations of a region share a few weak ties (about one per
      four members of the smaller, at most 12), between members with no other outside tie.
    - Brokers: 4 members, the only links between regions, one per pair of neighboring
      regions on a ring, each in a different organization. Each has 3 ties into an
      organization of the other region (and a second affiliation there), and so the
      highest betweenness centrality.
    - Satellite: a team of 3-4 members, all tied to each other, that reaches the rest of the network only
      through one mentoring tie to an anchor member, the bridge between clusters of the
      member graph; the anchor and the team's end of it are articulation points. The
      team's ties never end, so the bridge is there today.
    - Isolates: 3-8 members with no collaborations at all.
    - Partnerships: 2-3 organization-to-organization collaborations (kind "partnership")
      whose `source_key`/`target_key` are organization keys.

    There are no self-loops and no repeated unordered pairs; about 15% of
    collaborations have ended.
    """
    if isinstance(members, bool) or not isinstance(members, int):
        raise TypeError(f"members must be an int, not {type(members).__name__}")
    if not MIN_MEMBERS <= members <= MAX_MEMBERS:
        raise ValueError(f"members must be between {MIN_MEMBERS} and {MAX_MEMBERS}, got {members}")

    rng = random.Random(seed)
    organizations = _found_organizations()
    org_keys = [org["key"] for org in organizations]
    keys = [f"m-{number:04d}" for number in range(1, members + 1)]

    recruits = keys[:]
    rng.shuffle(recruits)
    isolates = recruits[:3 + rng.randint(0, min(5, members // 60))]
    satellite = recruits[len(isolates):len(isolates) + rng.randint(3, 4)]
    rosters = _staff_rosters(rng, recruits[len(isolates) + len(satellite):], organizations)

    anchor = _choose_anchor(rng, rosters)
    brokers = _recruit_brokers(rng, organizations, rosters, exclude={anchor})

    home = {key: org for org, roster in rosters.items() for key in roster}
    home.update({key: home[anchor] for key in satellite})
    home.update({key: rng.choice(org_keys) for key in isolates})
    second_home = _second_homes(rng, keys, home, org_keys, brokers)

    by_key = {org["key"]: org for org in organizations}
    member_rows = _enroll_members(rng, keys, home, by_key)

    topics_of = {row["key"]: row["topics"] for row in member_rows}
    topics_of.update({org["key"]: org["topics"] for org in organizations})
    ledger = _Ledger(rng, topics_of)
    for roster in rosters.values():
        _weave_colleagues(ledger, roster)
    outgoing = _weave_brokerage(ledger, brokers, rosters)
    _weave_regions(ledger, organizations, rosters, outgoing)
    _weave_satellite(ledger, satellite, anchor)
    _weave_partnerships(ledger, org_keys)

    affiliation_rows = _affiliate(rng, member_rows, home, second_home, by_key)
    return DemoNetwork(
        organizations=tuple(organizations),
        members=tuple(member_rows),
        affiliations=tuple(affiliation_rows),
        collaborations=tuple(ledger.collaborations),
    )


def _found_organizations() -> list[dict]:
    return [
        {"key": f"org-{number:02d}", "name": name, "kind": kind, "region": region, "topics": list(topics)}
        for number, (name, kind, region, topics, _) in enumerate(_ORGANIZATIONS, start=1)
    ]


def _staff_rosters(rng: random.Random, recruits: list[str], organizations: list[dict]) -> dict[str, list[str]]:
    headcounts = _apportion(len(recruits), [entry[4] for entry in _ORGANIZATIONS])
    rosters, start = {}, 0
    for org, headcount in zip(organizations, headcounts):
        rosters[org["key"]] = recruits[start:start + headcount]
        start += headcount
    return rosters


def _apportion(total: int, weights: list[float]) -> list[int]:
    # Every organization gets someone, the rest goes by largest remainder.
    counts = [1] * len(weights)
    spare = total - len(weights)
    shares = [spare * weight / sum(weights) for weight in weights]
    counts = [count + int(share) for count, share in zip(counts, shares)]
    by_remainder = sorted(range(len(weights)), key=lambda i: shares[i] - int(shares[i]), reverse=True)
    for i in by_remainder[:total - sum(counts)]:
        counts[i] += 1
    return counts


def _choose_anchor(rng: random.Random, rosters: dict[str, list[str]]) -> str:
    # The anchor's own organization must survive losing any one tie, or the satellite
    # tie would not be the only bridge; tiny networks make do with the largest roster.
    sturdy = [roster for roster in rosters.values() if len(roster) >= 3]
    return rng.choice(rng.choice(sturdy) if sturdy else max(rosters.values(), key=len))


def _recruit_brokers(
    rng: random.Random, organizations: list[dict], rosters: dict[str, list[str]], exclude: set[str]
) -> list[tuple[str, str, str]]:
    """Pick (broker, home organization, far organization), one per pair of neighboring regions."""
    ring = rng.sample(REGIONS, len(REGIONS))
    # Each region sits on two spans and has two organizations: one end each, so no
    # organization funnels two spans and the brokers' load stays comparable.
    ends = {region: rng.sample([org["key"] for org in organizations if org["region"] == region], 2)
            for region in REGIONS}
    brokers = []
    for near, far in zip(ring, ring[1:] + ring[:1]):
        home, away = rng.sample([ends[near].pop(), ends[far].pop()], 2)
        candidates = [key for key in rosters[home] if key not in exclude]
        if candidates:
            brokers.append((rng.choice(candidates), home, away))
    return brokers


def _second_homes(
    rng: random.Random, keys: list[str], home: dict[str, str], org_keys: list[str],
    brokers: list[tuple[str, str, str]],
) -> dict[str, str]:
    second_home = {member: away for member, _, away in brokers}
    for key in keys:
        if key not in second_home and rng.random() < 0.06:
            second_home[key] = rng.choice([org for org in org_keys if org != home[key]])
    return second_home


def _enroll_members(rng: random.Random, keys: list[str], home: dict[str, str], by_key: dict[str, dict]) -> list[dict]:
    names = rng.sample(range(len(_FIRST_NAMES) * len(_LAST_NAMES)), len(keys))
    return [
        _compose_member(rng, key, *divmod(name, len(_LAST_NAMES)), by_key[home[key]])
        for key, name in zip(keys, names)
    ]


def _compose_member(rng: random.Random, key: str, first_index: int, last_index: int, org: dict) -> dict:
    first, last = _FIRST_NAMES[first_index], _LAST_NAMES[last_index]
    role = rng.choices(MEMBER_ROLES, weights=_ROLE_WEIGHTS[org["kind"]])[0]
    topics = _pick_topics(rng, org["topics"])
    return {
        "key": key,
        "name": f"{first} {last}",
        "email": f"{_ascii_slug(first)}.{_ascii_slug(last)}@example.org",
        "role": role,
        "title": rng.choice(_TITLES[role]),
        # Some members work in one region for an organization based in another.
        "region": org["region"] if rng.random() < 0.9 else rng.choice(REGIONS),
        "topics": topics,
        "populations": _pick_populations(rng, topics),
        "discoverable": rng.random() < 0.95,
    }


def _ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _pick_topics(rng: random.Random, favored: list[str]) -> list[str]:
    pool, picked = list(TOPICS), []
    for _ in range(rng.randint(1, 4)):
        topic = rng.choices(pool, weights=[4 if t in favored else 1 for t in pool])[0]
        pool.remove(topic)
        picked.append(topic)
    return picked


def _pick_populations(rng: random.Random, topics: list[str]) -> list[str]:
    populations = rng.sample(POPULATIONS, rng.randint(1, 3))
    if "ell" in topics and "english_learners" not in populations:
        populations[0] = "english_learners"
    return populations


def _affiliate(
    rng: random.Random, member_rows: list[dict], home: dict[str, str], second_home: dict[str, str],
    by_key: dict[str, dict],
) -> list[dict]:
    rows = []
    for member in member_rows:
        for org_key in (home[member["key"]], second_home.get(member["key"])):
            if org_key is None:
                continue
            rows.append({
                "member_key": member["key"],
                "organization_key": org_key,
                "role": _affiliation_role(rng, member["role"], by_key[org_key]["kind"]),
                "since": _random_day(rng, _EPOCH, _HORIZON).isoformat(),
            })
    return rows


def _affiliation_role(rng: random.Random, member_role: str, org_kind: str) -> str:
    if org_kind in ("district", "school") and member_role in ("principal", "district_leader"):
        return "staff"
    return rng.choices(AFFILIATION_ROLES, weights=(6, 2, 1, 1))[0]


class _Ledger:
    """The collaborations woven so far, refusing self-loops and repeated pairs."""

    def __init__(self, rng: random.Random, topics_of: dict[str, list[str]]):
        self.rng = rng
        self.topics_of = topics_of
        self.pairs: set[frozenset[str]] = set()
        # Lists, not sets: set order varies with hash seeding and would break determinism.
        self.neighbors: dict[str, list[str]] = defaultdict(list)
        self.collaborations: list[dict] = []

    def tie(self, source: str, target: str, style: _TieStyle, *, ongoing: bool = False) -> bool:
        pair = frozenset((source, target))
        if source == target or pair in self.pairs:
            return False
        self.pairs.add(pair)
        self.neighbors[source].append(target)
        self.neighbors[target].append(source)
        self.collaborations.append(self._describe(source, target, style, ongoing))
        return True

    def _describe(self, source: str, target: str, style: _TieStyle, ongoing: bool) -> dict:
        rng = self.rng
        kind = rng.choices(style.kinds, weights=style.kind_weights)[0]
        started = _random_day(rng, _EPOCH, _HORIZON - timedelta(days=90))
        ended = _random_day(rng, started + timedelta(days=30), _HORIZON) if rng.random() < 0.15 else None
        if ongoing:     # drawn all the same, so the rest of the network stays the one this seed always gave
            ended = None
        return {
            "source_key": source,
            "target_key": target,
            "kind": kind,
            "strength": rng.choices(range(1, 6), weights=style.strength_weights)[0],
            "started_on": started.isoformat(),
            "ended_on": ended.isoformat() if ended else None,
            "note": self._note(source, target, kind) if rng.random() < 0.6 else None,
        }

    def _note(self, source: str, target: str, kind: str) -> str:
        shared = [t for t in self.topics_of[source] if t in self.topics_of[target]]
        topic = self.rng.choice(shared or self.topics_of[source])
        label = _TOPIC_LABELS.get(topic, topic.replace("_", " "))
        return self.rng.choice(_NOTES[kind]).format(topic=label)


def _weave_colleagues(ledger: _Ledger, roster: list[str]) -> None:
    rng = ledger.rng
    if len(roster) < 2:
        return
    # A closed circle first, so no colleague hangs on a single tie and bridges stay meaningful.
    circle = rng.sample(roster, len(roster))
    woven = sum(ledger.tie(a, b, _COLLEAGUES) for a, b in zip(circle, circle[1:] + circle[:1]))
    target = min(len(roster) * (len(roster) - 1) // 2, round(len(roster) * rng.uniform(5, 7) / 2))
    for _ in range(target * 20):
        if woven >= target:
            break
        member = rng.choice(roster)
        # Half the new ties close a triangle, as colleagues meet through colleagues.
        other = _friend_of_friend(ledger, member) if rng.random() < 0.5 else rng.choice(roster)
        if other and ledger.tie(member, other, _COLLEAGUES):
            woven += 1


def _friend_of_friend(ledger: _Ledger, member: str) -> str | None:
    friends = ledger.neighbors[member]
    if not friends:
        return None
    return ledger.rng.choice(ledger.neighbors[ledger.rng.choice(friends)])


def _weave_regions(
    ledger: _Ledger, organizations: list[dict], rosters: dict[str, list[str]], outgoing: set[str]
) -> None:
    # Few ties next to an organization's size, so it stays its own community; and
    # fresh members at their ends, or they would rival the brokers in betweenness.
    rng = ledger.rng
    for region in REGIONS:
        local = [org["key"] for org in organizations if org["region"] == region]
        for a, b in zip(local, local[1:]):
            count = min(rng.randint(8, 12), max(2, min(len(rosters[a]), len(rosters[b])) // 4))
            ends = zip(_fresh_first(rng, rosters[a], outgoing), _fresh_first(rng, rosters[b], outgoing))
            for source, target in islice(ends, count):
                outgoing.update((source, target))
                ledger.tie(source, target, _ACQUAINTANCES)


def _fresh_first(rng: random.Random, roster: list[str], busy: set[str]) -> list[str]:
    fresh = [key for key in roster if key not in busy]
    seen = [key for key in roster if key in busy]
    return rng.sample(fresh, len(fresh)) + rng.sample(seen, len(seen))


def _weave_brokerage(
    ledger: _Ledger, brokers: list[tuple[str, str, str]], rosters: dict[str, list[str]]
) -> set[str]:
    """Tie each broker to three members of the far organization; return everyone involved."""
    involved = {broker for broker, _, _ in brokers}
    for broker, _, away in brokers:
        candidates = [key for key in rosters[away] if key not in involved] or rosters[away]
        for contact in ledger.rng.sample(candidates, min(3, len(candidates))):
            ledger.tie(broker, contact, _BROKERAGE)
            involved.add(contact)
    return involved


def _weave_satellite(ledger: _Ledger, satellite: list[str], anchor: str) -> None:
    # Every pair of the team tied, and ongoing, so that today's graph has the bridge and the team is a cluster
    # of its own (on a ring, Leiden merged it into the anchor's): an ended tie would cut the team off, or leave
    # its members on single ties (pendants, not a bridge between clusters).
    for a, b in zip(satellite, satellite[1:] + satellite[:1]):
        ledger.tie(a, b, _COLLEAGUES, ongoing=True)
    for a, b in zip(satellite, satellite[2:]):
        ledger.tie(a, b, _COLLEAGUES, ongoing=True)
    ledger.tie(anchor, satellite[0], _OUTREACH, ongoing=True)


def _weave_partnerships(ledger: _Ledger, org_keys: list[str]) -> None:
    for _ in range(ledger.rng.randint(2, 3)):
        ledger.tie(*ledger.rng.sample(org_keys, 2), _PARTNERSHIP)


def _random_day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))
