"""Schemathesis hooks for the contract run: the problem+json check, and the few rejections that are right.

Loaded by the schemathesis CLI through SCHEMATHESIS_HOOKS (see test_schemathesis.py).
"""

from __future__ import annotations

import atexit
import json
import os
import re
from collections import Counter, defaultdict

import schemathesis
from schemathesis.openapi.checks import EnsureResourceAvailability, RejectedPositiveData

PROBLEM_CONTENT_TYPE = "application/problem+json"
_PROBLEM_MEMBERS = {"type": str, "title": str, "status": int, "detail": str}

# Rejections of schema-valid input for reasons no schema can state: the server's current data, or a
# rule between two fields. Tests in tests/service pin each of them; any other rejection that
# positive_data_acceptance reports still fails the run.
#  - precondition-failed (412): If-Match named a version the resource no longer (or never) had.
#  - idempotency-key-reused (422): the same Idempotency-Key came earlier with another body; the
#    IETF idempotency-key draft asks for 422, and a fuzzer reuses short keys all the time.
_STATEFUL_PROBLEMS = {"urn:netweave:problem:precondition-failed", "urn:netweave:problem:idempotency-key-reused"}
#  - a cursor the server never issued (it is opaque: any string is schema-valid, few are ours);
#  - a body that names a member or organization that does not exist (the id is a valid UUID);
#  - a date range whose end is before its start (a rule between two fields, which JSON Schema cannot state);
#  - a key expiry in the past (a rule against the clock); two query parameters that exclude each other;
#  - segments by a member attribute that is not defined (the server's data), or smaller than the deployment's
#    NETWEAVE_SEGMENT_MIN_SIZE allows (its configuration, which the committed document cannot know), or
#    `bins` with a lens that is not an integer, number or date attribute (a rule between two fields);
#  - a custom attribute that is not defined, or a value of the wrong type for its definition (errors on
#    `attributes.NAME`, and `attr.NAME` filters): the definitions are the network's data;
#  - a value a closed vocabulary does not list (a scenario may have closed it: the network's data), and a
#    vocabulary merge of values it does not list, or of a value into itself (the vocabulary's data);
#  - a webhook URL whose address is loopback, private or reserved, or that uses http: allowed only by the
#    deployment's NETWEAVE_WEBHOOK_ALLOW_PRIVATE (its configuration);
#  - list items that differ as sent but not as compared: enum values ignoring case, vocabulary values once
#    normalised (JSON Schema's uniqueItems compares items exactly);
#  - rules between fields of a check-in or an activity: a question's fields by its type, exactly one roster
#    kind, one label per scale point, max above min, closes_at after opens_at, question ids and scale names
#    and participants unique by one field of items; activity_size_cap only with include=activities.
_UNSTATABLE_FIELD_MESSAGES = re.compile(r"^(not a cursor this list returned"
                                      r"|no (member|organization|member or organization) with id \S+"
                                      r"|(\w+ )?must not be before \w+"
                                      r"|must be in the future"
                                      r"|give \w+ or \w+, not both"
                                      r"|no member attribute named \w+ is defined"
                                      r"|no (member|organization|collaboration) attribute '\w+' is defined.*"
                                      r"|'.*' is not a value of the closed vocabulary \w+; allowed: .*"
                                      r"|not values of \w+: .* \(a value merged before is no longer listed; .*\)"
                                      r"|names only '.*', the value merged into"
                                      r"|values must differ \(ignoring case\)"
                                      r"|normalises to '.*', as values\.\d+ does"
                                      r"|\S+ is a loopback, private, link-local or reserved address; list it in "
                                      r"NETWEAVE_WEBHOOK_ALLOW_PRIVATE to allow it"
                                      r"|an https URL \(http only to addresses listed in NETWEAVE_WEBHOOK_ALLOW_PRIVATE\)"
                                      r"|must be at least \d+, the smallest segment this deployment shows "
                                      r"\(NETWEAVE_SEGMENT_MIN_SIZE\)"
                                      r"|required for a names question|only for an? (names|attribute) question"
                                      r"|required for an attribute question"
                                      r"|give exactly one of [\w, ]+|give one label per point: \d+"
                                      r"|must be greater than min|must be after opens_at|scale names must differ"
                                      r"|\w+ appears twice|only true; to list fewer members give organization_ids "
                                      r"or a segment|listed already at participants\.\d+"
                                      r"|only with include=activities"
                                      r"|only for a member attribute of type integer, number or date)$")


def _problem(response) -> dict | None:
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError):
        return None
    return body if isinstance(body, dict) else None


def _content_type(response) -> str:
    values = response.headers.get("content-type") or [""]
    return values[0].split(";")[0].strip().lower()


@schemathesis.check
def problem_details(ctx, response, case):
    """Every 4xx and 5xx is RFC 9457 application/problem+json with type, title, status and detail."""
    if response.status_code < 400:
        return None
    content_type = _content_type(response)
    if content_type != PROBLEM_CONTENT_TYPE:
        raise AssertionError(f"{response.status_code} answered as {content_type or 'no content type'}, "
                             f"not {PROBLEM_CONTENT_TYPE}")
    problem = _problem(response)
    if problem is None:
        raise AssertionError(f"{response.status_code} problem body is not a JSON object")
    for member, kind in _PROBLEM_MEMBERS.items():
        if not isinstance(problem.get(member), kind):
            raise AssertionError(f"problem member '{member}' is missing or not a {kind.__name__}")
    if problem["status"] != response.status_code:
        raise AssertionError(f"problem status {problem['status']} differs from the HTTP status "
                             f"{response.status_code}")
    for error in problem.get("errors") or []:
        # A field may be named "" (a query parameter with an empty name is still the one that failed).
        if not (isinstance(error, dict) and isinstance(error.get("field"), str) and error.get("location")):
            raise AssertionError("a validation problem's error does not name its field and location")
    return True


def is_unstatable_rejection(response) -> bool:
    """True when the API rejected schema-valid input for one of the reasons above, and for no other."""
    problem = _problem(response) or {}
    if problem.get("type") in _STATEFUL_PROBLEMS:
        return True
    errors = problem.get("errors") or []
    return (response.status_code == 422 and bool(errors)
            and all(_ATTRIBUTE_FIELD.match(error.get("field") or "")
                    or all(_UNSTATABLE_FIELD_MESSAGES.match(message) for message in error.get("messages") or [""])
                    for error in errors))


_ATTRIBUTE_FIELD = re.compile(r"^(attributes|attr)\.[a-z][a-z0-9_]{0,39}$")


# Ids in replayed creations. A POST repeated with the same Idempotency-Key and body answers the first
# 201 again (Idempotent-Replayed: true), even when that resource was deleted since, as the key promises;
# a scenario that follows such a replay to GET finds a 404 that is not a lost creation.
_REPLAYED_IDS: set[str] = set()


# Every status each operation answered; printed at the end when NETWEAVE_CONTRACT_STATUSES is set
# (the run without a key checks that every answer was a refusal).
_STATUSES: defaultdict[str, set[int]] = defaultdict(set)


@schemathesis.hook
def after_call(context, case, response):
    _STATUSES[f"{case.method.upper()} {case.path}"].add(response.status_code)
    if response.status_code == 201 and (response.headers.get("idempotent-replayed") or [""])[0] == "true":
        created = _problem(response) or {}
        if isinstance(created.get("id"), str):
            _REPLAYED_IDS.add(created["id"])


def is_replayed_resource(case) -> bool:
    return any(value in _REPLAYED_IDS for value in (case.path_parameters or {}).values())


_DROPPED: Counter[str] = Counter()


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keep every failure except the right answers described above (counted, and printed at the end)."""
    if isinstance(failure, RejectedPositiveData) and is_unstatable_rejection(response):
        problem = _problem(response) or {}
        errors = problem.get("errors") or [{}]
        why = (errors[0].get("messages") or [problem.get("type", "").rsplit(":", 1)[-1]])[0]
        why = re.sub(r"with id \S+", "with id <id>", why)
        _DROPPED[f"{failure.code} {response.status_code} {why}"] += 1
        return False
    if isinstance(failure, EnsureResourceAvailability) and is_replayed_resource(case):
        _DROPPED[f"{failure.code} 404 after an idempotent replay"] += 1
        return False
    return True


@atexit.register
def _print_dropped() -> None:
    if _DROPPED:
        print("Dropped by tests/contract/hooks.py (right answers no schema can foresee):")
        for reason, count in sorted(_DROPPED.items()):
            print(f"  {reason}: {count}")


@atexit.register
def _print_statuses() -> None:
    if os.environ.get("NETWEAVE_CONTRACT_STATUSES"):
        print("Statuses by operation: " + json.dumps({op: sorted(found) for op, found in sorted(_STATUSES.items())}))
