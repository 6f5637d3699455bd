"""Custom attributes: typed fields a network defines on members, organizations and collaborations."""

from __future__ import annotations

import neo4j.time
import pytest

FIELDS = {
    "grade_band": {"type": "enum", "values": ["Elementary", "Middle", "High"], "label": "Grade band"},
    "years_in_role": {"type": "integer"},
    "students_served": {"type": "number"},
    "rural": {"type": "boolean"},
    "certified_on": {"type": "date"},
    "subjects": {"type": "tags"},
    "home_phone": {"type": "string", "pii": True},
}


@pytest.fixture
def defined(api):
    for name, body in FIELDS.items():
        response = api.put(f"/v1/attributes/member/{name}", json=body)
        assert response.status_code == 201, response.get_data(as_text=True)
    return FIELDS


VALUES = {"grade_band": "middle", "years_in_role": 4, "students_served": 120.5, "rural": True,
          "certified_on": "2019-06-01", "subjects": ["Math", "science", "math"], "home_phone": "555-0100"}
STORED = {**VALUES, "grade_band": "Middle", "subjects": ["math", "science"]}


def test_each_type_round_trips_through_post_get_and_patch(api, defined):
    created = api.post("/v1/members", json={"name": "Ana", "attributes": VALUES})
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["attributes"] == STORED
    member = api.get(f"/v1/members/{created.get_json()['id']}")
    assert member.get_json()["attributes"] == STORED
    patched = api.patch(f"/v1/members/{created.get_json()['id']}", headers={"If-Match": member.headers["ETag"]},
                        json={"attributes": {"years_in_role": 5, "rural": None}})
    assert patched.status_code == 200
    assert patched.get_json()["attributes"] == {**{k: v for k, v in STORED.items() if k != "rural"}, "years_in_role": 5}


@pytest.mark.parametrize("name, value, message", [
    ("grade_band", "college", "must be one of: Elementary, Middle, High"),
    ("years_in_role", 4.5, "Not a valid integer."),
    ("years_in_role", "4", "Not a valid integer."),
    ("students_served", True, "Not a valid number."),
    ("rural", "yes", "Not a valid boolean."),
    ("certified_on", "June 2019", "Not a valid date."),
    ("subjects", "math", "Not a valid list."),
    ("home_phone", "", "Length must be between 1 and 500."),
    ("shoe_size", 42, "no member attribute 'shoe_size' is defined"),
])
def test_a_bad_value_is_a_problem_naming_the_attribute_and_writes_nothing(api, defined, name, value, message):
    response = api.post("/v1/members", json={"name": "Ana", "attributes": {name: value}})
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    error = response.get_json()["errors"][0]
    assert error["field"] == f"attributes.{name}"
    assert message in " ".join(error["messages"])
    assert api.get("/v1/members").get_json()["items"] == []


def test_sync_checks_attributes_per_record(api, defined):
    response = api.post("/v1/sync/members", json={"source": "crm", "records": [
        {"external_id": "1", "name": "Ana", "attributes": {"grade_band": "High", "years_in_role": 2}},
        {"external_id": "2", "name": "Ben", "attributes": {"years_in_role": "many"}},
        {"external_id": "3", "name": "Cy", "attributes": {"nickname": "C"}}]})
    assert response.status_code == 207
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "error"]
    assert results[1]["error"]["errors"][0]["field"] == "attributes.years_in_role"
    assert results[2]["error"]["errors"][0]["field"] == "attributes.nickname"
    member = api.get(f"/v1/members/{results[0]['id']}").get_json()
    assert member["attributes"] == {"grade_band": "High", "years_in_role": 2}
    again = api.post("/v1/sync/members", json={"source": "crm", "records": [
        {"external_id": "1", "name": "Ana", "attributes": {"grade_band": "high"}}]})
    assert again.get_json()["results"][0]["status"] == "unchanged"


def test_a_pii_attribute_is_shown_only_to_keys_with_the_pii_scope(api, defined, make_key):
    member = api.post("/v1/members", json={"name": "Ana", "attributes": VALUES}).get_json()
    reader = api.with_key(make_key("read"))
    seen = reader.get(f"/v1/members/{member['id']}").get_json()["attributes"]
    assert "home_phone" not in seen and seen["grade_band"] == "Middle"
    listed = reader.get("/v1/members").get_json()["items"][0]["attributes"]
    assert "home_phone" not in listed
    trusted = api.with_key(make_key("read", "pii")).get(f"/v1/members/{member['id']}").get_json()
    assert trusted["attributes"]["home_phone"] == "555-0100"


def test_lists_filter_by_attribute(api, defined):
    for name, values in [("Ana", {"grade_band": "Middle", "years_in_role": 4, "subjects": ["math"], "rural": True}),
                         ("Ben", {"grade_band": "High", "years_in_role": 4, "subjects": ["art"]}),
                         ("Cy", {"grade_band": "Middle", "years_in_role": 9})]:
        assert api.post("/v1/members", json={"name": name, "attributes": values}).status_code == 201

    def names(query):
        response = api.get(f"/v1/members?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [item["name"] for item in response.get_json()["items"]]

    assert names("attr.grade_band=middle") == ["Ana", "Cy"]
    assert names("attr.grade_band=Middle&attr.years_in_role=4") == ["Ana"]
    assert names("attr.subjects=Math") == ["Ana"]
    assert names("attr.rural=true") == ["Ana"]
    bad = api.get("/v1/members?attr.years_in_role=four")
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "attr.years_in_role"
    assert api.get("/v1/members?attr.unknown=1").get_json()["errors"][0]["field"] == "attr.unknown"
    badly_named = api.get("/v1/members?attr.Bad-Name=1")
    assert badly_named.status_code == 422
    assert [e["field"] for e in badly_named.get_json()["errors"]] == ["attr.Bad-Name"]   # as sent, no `.key`
    assert "lower-case letters" in badly_named.get_json()["errors"][0]["messages"][0]


def _refused_for_want_of_pii(response, field):
    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "urn:netweave:problem:insufficient-scope"
    assert problem["required_scopes"] == ["pii"]
    assert [error["field"] for error in problem["errors"]] == [field]


def test_filtering_members_by_a_pii_attribute_needs_the_pii_scope(api, defined, make_key):
    ana = api.post("/v1/members", json={"name": "Ana", "attributes": VALUES}).get_json()
    api.post("/v1/members", json={"name": "Ben", "attributes": {"home_phone": "555-0199"}})
    reader = api.with_key(make_key("read", "analytics"))
    _refused_for_want_of_pii(reader.get("/v1/members?attr.home_phone=555-0100"), "attr.home_phone")
    _refused_for_want_of_pii(reader.get("/v1/members?attr.home_phone=555-0999"), "attr.home_phone")  # no match
    _refused_for_want_of_pii(reader.get("/v1/members?attr.grade_band=middle&attr.home_phone=555-0100"),
                             "attr.home_phone")
    assert [m["name"] for m in reader.get("/v1/members?attr.grade_band=middle").get_json()["items"]] == ["Ana"]
    trusted = api.with_key(make_key("read", "pii")).get("/v1/members?attr.home_phone=555-0100")
    assert trusted.status_code == 200 and [m["id"] for m in trusted.get_json()["items"]] == [ana["id"]]


def test_filtering_organizations_and_collaborations_by_a_pii_attribute_needs_the_pii_scope(api, new_member,
                                                                                          make_key):
    assert api.put("/v1/attributes/organization/owner_phone", json={"type": "string", "pii": True}).status_code == 201
    assert api.put("/v1/attributes/collaboration/health_note", json={"type": "tags", "pii": True}).status_code == 201
    org = api.post("/v1/organizations", json={"name": "North High", "attributes": {"owner_phone": "555-0101"}})
    a, b = new_member("A"), new_member("B")
    tie = api.post("/v1/collaborations", json={"source_id": a["id"], "target_id": b["id"], "kind": "mentoring",
                                               "attributes": {"health_note": ["leave"]}})
    assert org.status_code == 201 and tie.status_code == 201
    reader = api.with_key(make_key("read"))
    _refused_for_want_of_pii(reader.get("/v1/organizations?attr.owner_phone=555-0101"), "attr.owner_phone")
    _refused_for_want_of_pii(reader.get("/v1/collaborations?attr.health_note=leave"), "attr.health_note")
    trusted = api.with_key(make_key("read", "pii"))
    assert [o["id"] for o in trusted.get("/v1/organizations?attr.owner_phone=555-0101").get_json()["items"]] == [
        org.get_json()["id"]]
    assert [c["id"] for c in trusted.get("/v1/collaborations?attr.health_note=leave").get_json()["items"]] == [
        tie.get_json()["id"]]


def test_organization_and_collaboration_attributes(api, new_member):
    assert api.put("/v1/attributes/organization/school_level", json={"type": "enum", "values": ["primary", "secondary"]}).status_code == 201
    assert api.put("/v1/attributes/collaboration/hours", json={"type": "integer"}).status_code == 201
    org = api.post("/v1/organizations", json={"name": "North High", "attributes": {"school_level": "Secondary"}})
    assert org.get_json()["attributes"] == {"school_level": "secondary"}
    assert [o["name"] for o in api.get("/v1/organizations?attr.school_level=secondary").get_json()["items"]] == ["North High"]
    a, b = new_member("A"), new_member("B")
    tie = api.post("/v1/collaborations", json={"source_id": a["id"], "target_id": b["id"], "kind": "mentoring",
                                               "attributes": {"hours": 12}})
    assert tie.status_code == 201 and tie.get_json()["attributes"] == {"hours": 12}
    assert api.get(f"/v1/collaborations?attr.hours=12").get_json()["items"][0]["id"] == tie.get_json()["id"]
    # a member attribute is not an organization's
    wrong = api.post("/v1/organizations", json={"name": "X", "attributes": {"hours": 1}})
    assert wrong.status_code == 422


def test_definitions_are_listed_changed_and_deleted_with_their_values(api, defined, make_key):
    listed = api.get("/v1/attributes?target=member").get_json()["items"]
    assert [d["name"] for d in listed] == sorted(FIELDS)
    member = api.post("/v1/members", json={"name": "Ana", "attributes": VALUES}).get_json()
    since = api.get("/v1/changes?limit=1000").get_json()["next_cursor"]

    in_use = api.put("/v1/attributes/member/years_in_role", json={"type": "string"})
    assert in_use.status_code == 409
    narrowed = api.put("/v1/attributes/member/grade_band", json={"type": "enum", "values": ["Elementary", "High"]})
    assert narrowed.status_code == 409
    relabelled = api.put("/v1/attributes/member/grade_band", json={**FIELDS["grade_band"], "label": "Band"})
    assert relabelled.status_code == 200 and relabelled.get_json()["version"] == 2
    assert api.with_key(make_key("read", "write")).delete("/v1/attributes/member/grade_band").status_code == 403
    assert api.delete("/v1/attributes/member/grade_band").status_code == 428
    assert api.delete("/v1/attributes/member/grade_band", headers={"If-Match": '"1"'}).status_code == 412

    assert api.delete("/v1/attributes/member/grade_band", headers={"If-Match": '"2"'}).status_code == 204
    assert "grade_band" not in api.get(f"/v1/members/{member['id']}").get_json()["attributes"]
    feed = api.get(f"/v1/changes?since={since}").get_json()["items"]
    assert [(item["resource"], item["id"], item["action"]) for item in feed] == [("member", member["id"], "update")]
    assert api.get("/v1/attributes/member/grade_band").status_code == 404
    # defined again, the old values do not come back
    api.put("/v1/attributes/member/grade_band", json=FIELDS["grade_band"])
    assert "grade_band" not in api.get(f"/v1/members/{member['id']}").get_json()["attributes"]


def test_a_put_that_leaves_out_pii_label_or_description_keeps_them(api, make_key):
    defined = api.put("/v1/attributes/member/home_phone", json={
        "type": "string", "pii": True, "label": "Home phone", "description": "as given at enrolment"})
    assert defined.status_code == 201
    member = api.post("/v1/members", json={"name": "Ana", "attributes": {"home_phone": "555-0101"}}).get_json()
    reader = api.with_key(make_key("read"))

    relabelled = api.put("/v1/attributes/member/home_phone", json={"type": "string", "label": "Home phone number"})
    assert relabelled.status_code == 200
    assert {key: relabelled.get_json()[key] for key in ("label", "description", "pii")} == {
        "label": "Home phone number", "description": "as given at enrolment", "pii": True}
    assert reader.get(f"/v1/members/{member['id']}").get_json()["attributes"] == {}
    assert reader.get("/v1/members?attr.home_phone=555-0101").status_code == 403

    retyped = api.put("/v1/attributes/member/home_phone", json={"type": "string"}).get_json()
    assert (retyped["label"], retyped["description"], retyped["pii"]) == ("Home phone number",
                                                                           "as given at enrolment", True)
    assert api.get("/v1/attributes/member/home_phone").get_json()["label"] == "Home phone number"

    public = api.put("/v1/attributes/member/home_phone", json={"type": "string", "pii": False, "description": None})
    assert (public.get_json()["pii"], public.get_json()["description"]) == (False, None)
    assert public.get_json()["label"] == "Home phone number"
    assert reader.get(f"/v1/members/{member['id']}").get_json()["attributes"] == {"home_phone": "555-0101"}


def test_a_new_definition_defaults_to_its_name_no_description_and_not_pii(api):
    created = api.put("/v1/attributes/member/nickname", json={"type": "string"})
    assert created.status_code == 201
    assert {key: created.get_json()[key] for key in ("label", "description", "pii")} == {
        "label": "nickname", "description": None, "pii": False}


def test_a_type_every_stored_value_already_fits_is_accepted_and_narrowing_is_refused(api, defined):
    ana = api.post("/v1/members", json={"name": "Ana", "attributes": VALUES}).get_json()

    number = api.put("/v1/attributes/member/years_in_role", json={"type": "number"})
    assert number.status_code == 200, number.get_data(as_text=True)
    assert number.get_json()["type"] == "number"
    string = api.put("/v1/attributes/member/grade_band", json={"type": "string", "label": "Grade band"})
    assert string.status_code == 200, string.get_data(as_text=True)
    assert (string.get_json()["type"], string.get_json()["values"]) == ("string", None)
    assert api.get(f"/v1/members/{ana['id']}").get_json()["attributes"]["years_in_role"] == 4
    found = api.get("/v1/members?attr.years_in_role=4&attr.grade_band=Middle").get_json()["items"]
    assert [m["id"] for m in found] == [ana["id"]]
    patched = api.patch(f"/v1/members/{ana['id']}", headers={"If-Match": "*"},
                        json={"attributes": {"years_in_role": 4.5, "grade_band": "Middle school"}})
    assert patched.status_code == 200
    assert {k: patched.get_json()["attributes"][k] for k in ("years_in_role", "grade_band")} == {
        "years_in_role": 4.5, "grade_band": "Middle school"}

    for name, narrower in [("years_in_role", {"type": "integer"}), ("students_served", {"type": "integer"}),
                           ("grade_band", {"type": "enum", "values": ["Middle"]}),
                           ("years_in_role", {"type": "string"})]:
        refused = api.put(f"/v1/attributes/member/{name}", json=narrower)
        assert refused.status_code == 409, (name, narrower)
        assert refused.get_json()["type"] == "urn:netweave:problem:attribute-in-use"
        assert refused.get_json()["uses"] == 1


def test_dropping_enum_values_names_only_those_held_with_their_counts(api):
    bands = ["Pre-K", "Elementary", "Middle", "High"]
    assert api.put("/v1/attributes/member/grade_band", json={"type": "enum", "values": bands}).status_code == 201
    for name, band in [("Ana", "Elementary"), ("Ben", "Elementary"), ("Cy", "Middle"), ("Di", "High")]:
        assert api.post("/v1/members", json={"name": name, "attributes": {"grade_band": band}}).status_code == 201

    refused = api.put("/v1/attributes/member/grade_band", json={"type": "enum", "values": ["High"]})
    assert refused.status_code == 409
    problem = refused.get_json()
    assert problem["uses"] == 3
    assert problem["held"] == [{"value": "Elementary", "uses": 2}, {"value": "Middle", "uses": 1}]
    assert "Elementary (2), Middle (1)" in problem["detail"] and "Pre-K" not in problem["detail"]
    dropped_unheld = api.put("/v1/attributes/member/grade_band", json={"type": "enum", "values": bands[1:]})
    assert dropped_unheld.status_code == 200 and dropped_unheld.get_json()["values"] == bands[1:]


@pytest.mark.parametrize("path, body, field", [
    ("/v1/attributes/member/Grade", {"type": "string"}, "name"),
    ("/v1/attributes/member/x", {"type": "colour"}, "type"),
    ("/v1/attributes/member/x", {"type": "enum"}, "values"),
    ("/v1/attributes/member/x", {"type": "string", "values": ["a"]}, "values"),
    ("/v1/attributes/member/x", {"type": "enum", "values": ["A", "a"]}, "values"),
])
def test_bad_definitions_are_refused(api, path, body, field):
    response = api.put(path, json=body)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == field


def test_a_hostile_attribute_name_never_reaches_cypher(api):
    hostile = "x`}) DETACH DELETE (n) //"
    response = api.post("/v1/members", json={"name": "Ana", "attributes": {hostile: 1}})
    assert response.status_code == 422
    assert api.get("/v1/members?attr.x%60%7D)%20DETACH=1").status_code == 422


def test_values_met_again_in_a_batch_load_as_they_did_the_first_time():
    """Loaders made once per batch (attributes.loaders) and the table of tags and names already accepted
    (schemas.fast) answer a repeated value as a fresh check would, and never keep a refusal."""
    from marshmallow import ValidationError

    from schemas.attributes import value_loader
    from service.repositories import attributes

    enum = value_loader({"type": "enum", "values": ["Elementary", "Middle", "High"]})
    assert [enum(" middle "), enum("MIDDLE"), enum("High")] == ["Middle", "Middle", "High"]
    loading = attributes.loaders({"subjects": {"type": "tags", "values": None},
                                  "certified_on": {"type": "date", "values": None}})
    for _ in range(2):      # the second time round, from the table
        assert attributes.to_props(loading, {"subjects": [" Math", "math", "ELA"]}, "member") == (
            {"attr.subjects": ["math", "ela"]}, [])
        props, errors = attributes.to_props(loading, {"subjects": ["math", "bad\x1ctag"], "certified_on": "2019-06-01"},
                                            "member")
        assert [error["field"] for error in errors] == ["attributes.subjects"]
        assert props["attr.certified_on"] == neo4j.time.Date(2019, 6, 1)
        assert type(props["attr.certified_on"]) is neo4j.time.Date
    with pytest.raises(ValidationError, match="must be one of: Elementary, Middle, High"):
        enum("college")
    with pytest.raises(ValidationError, match="Not a valid string"):
        enum(3)


def test_the_table_of_accepted_strings_keeps_only_short_ones():
    """A string met again is answered from the table without checking it again, unless it is long (a tag
    padded far past its length is accepted, trimmed, but never kept: the table is keyed by the string as sent
    and lives as long as the process); a full table starts again."""
    from schemas import fast
    from schemas.common import tag_list

    assert fast.loader(tag_list())(["x" + " " * 10_000, "  Ramp  "]) == ["x", "ramp"]
    checked = []

    def strip(value):
        checked.append(value)
        return value.strip()

    remember = fast._repeating(strip, size=3)
    padded = "x" + " " * fast.KEPT_LENGTH
    for value in ["a ", padded, "a ", padded]:
        assert remember(value) == value.strip()
    assert checked == ["a ", padded, padded]
    for value in ["b", "c", "d", "a "]:     # "d" fills the table, which starts again without "a "
        remember(value)
    assert checked[3:] == ["b", "c", "d", "a "]


def test_a_sync_batch_with_attributes_and_no_vocabulary_fields(api, defined):
    """A batch whose records carry attributes but no role still reads the definitions (the statement then
    resolves no vocabulary values)."""
    response = api.post("/v1/sync/members", json={"source": "crm", "records": [
        {"external_id": "9", "name": "Ines", "attributes": {"grade_band": "elementary", "subjects": ["Art"]}}]})
    assert response.status_code == 200, response.get_data(as_text=True)
    member = api.get(f"/v1/members/{response.get_json()['results'][0]['id']}").get_json()
    assert member["attributes"] == {"grade_band": "Elementary", "subjects": ["art"]}


def test_a_record_carries_at_most_fifty_attributes_and_the_document_says_so_as_an_object_does(api, app):
    many = {f"field_{n}": n for n in range(51)}
    refused = api.post("/v1/members", json={"name": "Too Many", "attributes": many})
    assert refused.status_code == 422 and refused.content_type == "application/problem+json"
    assert refused.get_json()["errors"][0] == {"field": "attributes", "location": "json",
                                               "messages": ["at most 50 attributes"]}
    document = api.get("/openapi.json").get_json()
    shown = document["components"]["schemas"]["Member"]["properties"]["attributes"]
    assert shown["type"] == "object" and shown["maxProperties"] == 50 and "maxLength" not in shown
