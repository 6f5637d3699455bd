// Check-ins: surveys, their invitations (tokens stored hashed), nominations and write-ins.

// name: survey_create
CREATE (s:Survey)
SET s = $props,
    s.id = $id,
    s.version = 1,
    s.created_at = datetime(),
    s.updated_at = s.created_at
RETURN s.id AS id

// name: survey_get
// The surveys named in $ids, each with its status and how many respondents submitted.
MATCH (s:Survey) WHERE s.id IN $ids
RETURN s {.*, status: CASE WHEN s.closed_at IS NOT NULL OR s.closes_at <= datetime() THEN 'closed'
                           WHEN s.opens_at > datetime() THEN 'scheduled' ELSE 'open' END,
          answered: COUNT { MATCH (i:SurveyInvitation {survey_id: s.id}) WHERE i.status = 'submitted' }}
       AS survey

// name: survey_list
// One page of surveys, newest first by (created_at, id) before the cursor, optionally of one status.
MATCH (s:Survey)
WITH s, CASE WHEN s.closed_at IS NOT NULL OR s.closes_at <= datetime() THEN 'closed'
             WHEN s.opens_at > datetime() THEN 'scheduled' ELSE 'open' END AS status
WHERE ($status IS NULL OR status = $status)
  AND ($after IS NULL OR s.created_at < datetime($after[0])
       OR (s.created_at = datetime($after[0]) AND s.id < $after[1]))
WITH s, status ORDER BY s.created_at DESC, s.id DESC LIMIT $limit
RETURN s {.*, status: status,
          answered: COUNT { MATCH (i:SurveyInvitation {survey_id: s.id}) WHERE i.status = 'submitted' }} AS item,
       [toString(s.created_at), s.id] AS sort_key

// name: survey_lock
// Takes the survey's write lock; its version, state and whether anyone has saved an answer.
MATCH (s:Survey {id: $id})
SET s._lock = true
REMOVE s._lock
RETURN s.version AS version, s.opens_at AS opens_at, s.closes_at AS closes_at,
       s.closed_at IS NOT NULL OR s.closes_at <= datetime() AS closed,
       EXISTS { MATCH (i:SurveyInvitation {survey_id: s.id}) WHERE i.status IN ['started', 'submitted'] }
           AS answered

// name: survey_update
MATCH (s:Survey {id: $id})
SET s += $changes,
    s.version = s.version + 1,
    s.updated_at = datetime()
RETURN s.id AS id

// name: survey_close
// Closes the survey now: its tokens stop working.
MATCH (s:Survey {id: $id})
SET s.closed_at = datetime(),
    s.version = s.version + 1,
    s.updated_at = s.closed_at
RETURN s.id AS id

// name: surveys_lapsed
// Surveys whose closes_at has passed, within the last $within_days days, with no explicit close and no
// survey.closed alert yet, oldest first (one that lapsed long before anyone looked is old news).
MATCH (s:Survey)
WHERE s.closed_at IS NULL AND s.closes_at <= datetime() AND s.closed_alert_at IS NULL
  AND s.closes_at > datetime() - duration({days: $within_days})
RETURN s.id AS id
ORDER BY s.closes_at, s.id
LIMIT $limit

// name: survey_lapsed_claim
// Under the survey's write lock (survey_lock first): marks a lapsed survey's survey.closed alert raised,
// unless another process did; returns its id when this one claims it.
MATCH (s:Survey {id: $id})
WHERE s.closed_at IS NULL AND s.closes_at <= datetime() AND s.closed_alert_at IS NULL
SET s.closed_alert_at = datetime()
RETURN s.id AS id

// name: survey_existing_members
// Which of $ids are members.
MATCH (m:Member) WHERE m.id IN $ids
RETURN m.id AS id

// name: invitation_issue
// One invitation per (survey, member): a new one, or a new token for an existing one (answers stay).
UNWIND $rows AS row
MERGE (i:SurveyInvitation {key: $survey_id + ':' + row.member_id})
ON CREATE SET i.survey_id = $survey_id, i.member_id = row.member_id, i.status = 'invited',
              i.invited_at = datetime()
SET i.token_hash = row.token_hash,
    i.reissued_at = datetime()
RETURN count(i) AS issued

// name: invitation_list
// A survey's invitations with their members' names, optionally of one status, by name.
MATCH (i:SurveyInvitation {survey_id: $survey_id})
WHERE $status IS NULL OR i.status = $status
MATCH (m:Member {id: i.member_id})
RETURN i.member_id AS member_id, m.name AS name, i.status AS status, i.invited_at AS invited_at,
       i.started_at AS started_at, i.submitted_at AS submitted_at
ORDER BY m.name_key, m.id

// name: invitation_by_token
// The invitation whose token hashes to $token_hash, with its survey and the respondent's name.
MATCH (i:SurveyInvitation {token_hash: $token_hash})
MATCH (s:Survey {id: i.survey_id})
MATCH (m:Member {id: i.member_id})
RETURN i {.survey_id, .member_id, .status, .draft, .submission} AS invitation,
       s {.id, .title, .opens_at, .closes_at, .questions, .closed_at} AS survey, m.name AS name

// name: respondent_fields
// The respondent's own values of the properties $keys (in that order; null where absent). The keys are built-in
// member fields or defined attributes' storage keys (attr.<name>), never raw input.
MATCH (m:Member {id: $id})
RETURN [key IN $keys | m[key]] AS values

// name: respondent_fields_changed
// Of $changes (properties as member_update takes them; null removes), the keys whose value is not the one the
// respondent's member already holds.
MATCH (m:Member {id: $id})
RETURN [key IN keys($changes)
        WHERE NOT coalesce(m[key] = $changes[key], m[key] IS NULL AND $changes[key] IS NULL)] AS keys

// name: invitations_by_token_locked
// As invitation_by_token for each hash in $token_hashes (sorted, so two batches take their locks in one
// order), taking each invitation's write lock first: two saves of one token apply one after the other, each
// reading what the one before wrote.
UNWIND $token_hashes AS token_hash
MATCH (i:SurveyInvitation {token_hash: token_hash})
SET i._lock = true
REMOVE i._lock
WITH i
MATCH (s:Survey {id: i.survey_id})
MATCH (m:Member {id: i.member_id})
RETURN i.token_hash AS token_hash, i {.survey_id, .member_id, .status, .draft, .submission} AS invitation,
       s {.id, .title, .opens_at, .closes_at, .questions, .closed_at} AS survey, m.name AS name

// name: invitations_save
// For each row {key, answers, submitted}: saves a draft, or a submission (submitted) which also replaces the
// draft and waits (pending, under a new rev) for its nominations and ties to be derived.
UNWIND $rows AS row
MATCH (i:SurveyInvitation {key: row.key})
SET i.pending = CASE WHEN row.submitted THEN true ELSE i.pending END,
    i.rev = CASE WHEN row.submitted THEN coalesce(i.rev, 0) + 1 ELSE i.rev END,
    i.draft = row.answers,
    i.started_at = coalesce(i.started_at, datetime()),
    i.status = CASE WHEN row.submitted OR i.status = 'submitted' THEN 'submitted' ELSE 'started' END,
    i.submission = CASE WHEN row.submitted THEN row.answers ELSE i.submission END,
    i.submitted_at = CASE WHEN row.submitted THEN datetime() ELSE i.submitted_at END
RETURN row.key AS key, CASE WHEN row.submitted THEN i.submitted_at ELSE datetime() END AS saved_at

// name: roster_members
// The members a names question lists (everyone, some organizations' members, or a segment), but the
// respondent, each with one current organization's name (the first by name) and role; by name.
MATCH (m:Member)
WHERE m.id <> $respondent_id
  AND ($organization_ids IS NULL OR EXISTS {
        MATCH (m)-[f:MEMBER_OF]->(o:Organization) WHERE o.id IN $organization_ids
          AND (f.until IS NULL OR f.until >= date()) })
  AND ($organization_id IS NULL OR EXISTS {
        MATCH (m)-[f:MEMBER_OF]->(:Organization {id: $organization_id}) WHERE f.until IS NULL OR f.until >= date() })
  AND ($region IS NULL OR m.region = $region)
  AND ($role IS NULL OR m.role = $role)
  AND ($topic IS NULL OR $topic IN m.topics)
CALL (m) {
    OPTIONAL MATCH (m)-[f:MEMBER_OF]->(o:Organization) WHERE f.until IS NULL OR f.until >= date()
    WITH o ORDER BY o.name_key, o.id LIMIT 1
    RETURN o.name AS organization
}
RETURN m.id AS member_id, m.name AS name, organization, m.role AS role
ORDER BY m.name_key, m.id
LIMIT $limit

// name: roster_check
// For each check {check, respondent_id, ids, and a names question's filters (those of roster_members)}: which
// of its ids that question lists for that respondent.
UNWIND $checks AS check
UNWIND check.ids AS id
MATCH (m:Member {id: id})
WHERE m.id <> check.respondent_id
  AND (check.organization_ids IS NULL OR EXISTS {
        MATCH (m)-[f:MEMBER_OF]->(o:Organization) WHERE o.id IN check.organization_ids
          AND (f.until IS NULL OR f.until >= date()) })
  AND (check.organization_id IS NULL OR EXISTS {
        MATCH (m)-[f:MEMBER_OF]->(:Organization {id: check.organization_id})
        WHERE f.until IS NULL OR f.until >= date() })
  AND (check.region IS NULL OR m.region = check.region)
  AND (check.role IS NULL OR m.role = check.role)
  AND (check.topic IS NULL OR check.topic IN m.topics)
RETURN check.check AS check, m.id AS member_id

// name: nomination_pairs
// For each member in $others: the respondent's nomination of them and theirs of the respondent, in one
// question (scales as JSON; null when none).
UNWIND $others AS other
MATCH (x:Member {id: other})
OPTIONAL MATCH (:Member {id: $respondent_id})-[out:NOMINATED {survey_id: $survey_id, question_id: $question_id}]->(x)
OPTIONAL MATCH (x)-[in:NOMINATED {survey_id: $survey_id, question_id: $question_id}]->(:Member {id: $respondent_id})
RETURN other AS member_id, out.scales AS out_scales, in.scales AS in_scales

// name: survey_nominations
// Every nomination of a survey: who named whom, in which question, with what scales (JSON).
MATCH (a:Member)-[n:NOMINATED]->(b:Member) WHERE n.survey_id = $survey_id
RETURN a.id AS source, b.id AS target, n.question_id AS question_id, n.scales AS scales

// name: survey_invitees
// A survey's invited members: status, role and current organizations (for response rates by group).
MATCH (i:SurveyInvitation {survey_id: $survey_id})
MATCH (m:Member {id: i.member_id})
RETURN m.id AS member_id, m.name AS name, m.role AS role, i.status AS status,
       [(m)-[f:MEMBER_OF]->(o:Organization) WHERE f.until IS NULL OR f.until >= date() | {id: o.id, name: o.name}]
           AS organizations

// name: members_brief
// Names, roles and current organizations of the members in $ids.
MATCH (m:Member) WHERE m.id IN $ids
RETURN m.id AS member_id, m.name AS name, m.role AS role,
       [(m)-[f:MEMBER_OF]->(o:Organization) WHERE f.until IS NULL OR f.until >= date() | {id: o.id, name: o.name}]
           AS organizations

// name: write_ins_replace
// Replaces a respondent's open write-ins in one question by $names (a matched one stays matched).
OPTIONAL MATCH (w:SurveyWriteIn {survey_id: $survey_id, respondent_id: $respondent_id, question_id: $question_id,
                                 status: 'open'})
DETACH DELETE w
WITH count(*) AS gone
UNWIND $rows AS row
CREATE (n:SurveyWriteIn {id: row.id, survey_id: $survey_id, question_id: $question_id,
                         respondent_id: $respondent_id, name: row.name, status: 'open', created_at: datetime()})
RETURN count(n) AS created

// name: write_ins_list
MATCH (w:SurveyWriteIn {survey_id: $survey_id})
WHERE $status IS NULL OR w.status = $status
OPTIONAL MATCH (r:Member {id: w.respondent_id})
RETURN w {.*, respondent_name: coalesce(r.name, '')} AS item
ORDER BY w.created_at, w.id

// name: write_in_lock
MATCH (w:SurveyWriteIn {id: $id, survey_id: $survey_id})
SET w._lock = true
REMOVE w._lock
RETURN w {.*} AS write_in

// name: write_in_matched
MATCH (w:SurveyWriteIn {id: $id})
SET w.status = 'matched', w.member_id = $member_id, w.matched_at = datetime()
RETURN w {.*} AS write_in

// name: nomination_add
// One more nomination (a matched write-in, with $scales: none), unless the respondent already named that member there.
MATCH (r:Member {id: $respondent_id}), (x:Member {id: $member_id})
WHERE NOT EXISTS { (r)-[:NOMINATED {survey_id: $survey_id, question_id: $question_id}]->(x) }
CREATE (r)-[:NOMINATED {survey_id: $survey_id, question_id: $question_id, scales: $scales, created_at: datetime()}]->(x)
RETURN count(*) AS created

// name: deriver_lock
// The one lock every deriving transaction takes first, in every process: derivations run one at a time, and
// each reads the pending submissions only once the one before it has committed.
MERGE (d:SurveyDeriver {id: 'submissions'})
SET d._lock = true
REMOVE d._lock
RETURN d.id AS id

// name: pending_submissions
// Submissions whose nominations and ties are not derived yet (only $key's, when given), oldest first, with
// their surveys' questions.
MATCH (i:SurveyInvitation) WHERE i.pending = true AND ($key IS NULL OR i.key = $key)
WITH i ORDER BY i.submitted_at, i.key LIMIT $limit
MATCH (s:Survey {id: i.survey_id})
RETURN i.key AS key, i.rev AS rev, i.survey_id AS survey_id, i.member_id AS respondent_id,
       i.submission AS submission, s.questions AS questions

// name: submissions_lock
// Takes, in id order, the write locks of the respondents in $respondents, of everyone they named before in
// the survey and of everyone in $named: a batch then holds every node its nominations and ties will touch
// before it writes, so two batches (or a batch and a write-in match) wait for one another, never deadlock.
UNWIND $respondents AS respondent_id
OPTIONAL MATCH (:Member {id: respondent_id})-[n:NOMINATED]->(x:Member) WHERE n.survey_id = $survey_id
WITH collect(DISTINCT x.id) + $named + $respondents AS ids
MATCH (m:Member) WHERE m.id IN ids
WITH m ORDER BY m.id
SET m._lock = true
REMOVE m._lock
RETURN count(m) AS locked

// name: nominations_around
// For each row {respondent_id, question_id, named: [member ids]}, before a batch replaces the respondent's
// nominations in that question: whom they name there now, who names them there ({member_id, scales}), and
// which of `named` are members. A respondent deleted since submitting has no row.
UNWIND $rows AS row
MATCH (r:Member {id: row.respondent_id})
RETURN row.respondent_id AS respondent_id, row.question_id AS question_id,
       [(r)-[n:NOMINATED {survey_id: $survey_id, question_id: row.question_id}]->(x:Member) | x.id] AS before,
       [(x:Member)-[n:NOMINATED {survey_id: $survey_id, question_id: row.question_id}]->(r)
        | {member_id: x.id, scales: n.scales}] AS incoming,
       [id IN row.named WHERE EXISTS { MATCH (:Member {id: id}) }] AS named

// name: nominations_replace_many
// For each row {respondent_id, question_id, named: [{member_id, scales}]}: the respondent's nominations in
// that question replaced by `named` (a member no longer there is left out).
UNWIND $rows AS row
MATCH (r:Member {id: row.respondent_id})
OPTIONAL MATCH (r)-[old:NOMINATED {survey_id: $survey_id, question_id: row.question_id}]->(:Member)
WITH row, r, collect(old) AS olds
FOREACH (rel IN olds | DELETE rel)
WITH row, r
CALL (row, r) {
    UNWIND row.named AS entry
    MATCH (x:Member {id: entry.member_id})
    CREATE (r)-[:NOMINATED {survey_id: $survey_id, question_id: row.question_id, scales: entry.scales,
                            created_at: datetime()}]->(x)
    RETURN count(*) AS created
}
RETURN sum(created) AS created

// name: submissions_derived
// Marks derived the submissions in $done ({key, rev}) still at that rev (a newer one stays pending);
// $error, when set, says why one could not be.
UNWIND $done AS done
MATCH (i:SurveyInvitation {key: done.key}) WHERE i.rev = done.rev
SET i.pending = false,
    i.derive_error = $error
RETURN count(i) AS cleared

// --- members merged into one (POST /v1/members/{id}/merge; surveys.carry_check_ins) -------------------------

// name: merge_invitations_of
// The invitations of the members in $members (a survivor and the members merging into it), each locked
// first, so a save through one of their tokens applies before the merge or after it: key, survey, member,
// status, when submitted, draft and submission.
MATCH (i:SurveyInvitation) WHERE i.member_id IN $members
WITH i ORDER BY i.key
SET i._lock = true
REMOVE i._lock
RETURN i.key AS key, i.survey_id AS survey_id, i.member_id AS member_id, i.status AS status,
       i.submitted_at AS submitted_at, i.draft AS draft, i.submission AS submission

// name: merge_invitations_naming
// The invitations whose draft or submission may name one of $ids (members merging away), each locked first:
// those of surveys still open (a respondent may open and answer them again) and those whose submission is
// still to derive. Key, survey, respondent, draft and submission; the caller reads the answers to know.
CALL () {
    MATCH (s:Survey) WHERE s.closed_at IS NULL AND s.closes_at > datetime()
    MATCH (i:SurveyInvitation {survey_id: s.id})
    RETURN i
    UNION
    MATCH (i:SurveyInvitation) WHERE i.pending = true
    RETURN i
}
WITH i WHERE any(id IN $ids WHERE i.draft CONTAINS id OR i.submission CONTAINS id)
WITH i ORDER BY i.key
SET i._lock = true
REMOVE i._lock
RETURN i.key AS key, i.survey_id AS survey_id, i.member_id AS member_id, i.draft AS draft,
       i.submission AS submission

// name: merge_invitations_drop
// Deletes the invitations whose keys are in $keys (their tokens answer 404 unknown-token from now on).
UNWIND $keys AS key
MATCH (i:SurveyInvitation {key: key})
DELETE i
RETURN count(*) AS dropped

// name: merge_invitations_rewrite
// For each row {key, new_key, member_id, draft, submission}: the invitation's key and respondent (both
// unchanged for one that stays its member's) and its answers as rewritten.
UNWIND $rows AS row
MATCH (i:SurveyInvitation {key: row.key})
SET i.key = row.new_key, i.member_id = row.member_id, i.draft = row.draft, i.submission = row.submission
RETURN count(*) AS rewritten

// name: merge_nominations_of
// Every nomination from or to the members in $members: survey, question, who named whom.
MATCH (m:Member) WHERE m.id IN $members
MATCH (m)-[n:NOMINATED]-(:Member)
WITH DISTINCT n
RETURN n.survey_id AS survey_id, n.question_id AS question_id, startNode(n).id AS source, endNode(n).id AS target

// name: merge_nominations_move
// For each row {survey_id, question_id, source, target, to_source, to_target}: the nomination of target by
// source in that question becomes one of to_target by to_source (its scales and time kept), or goes when
// to_source is null.
UNWIND $rows AS row
MATCH (:Member {id: row.source})-[n:NOMINATED {survey_id: row.survey_id, question_id: row.question_id}]->
      (:Member {id: row.target})
CALL (row, n) {
    WITH row, n WHERE row.to_source IS NOT NULL
    MATCH (a:Member {id: row.to_source}), (b:Member {id: row.to_target})
    CREATE (a)-[moved:NOMINATED]->(b)
    SET moved = properties(n)
}
DELETE n
RETURN count(*) AS moved

// name: merge_write_ins
// After a member merge: the open write-ins of the superseded answers in $superseded ({survey_id,
// respondent_id}) go, as a revision's would; the write-ins written by or matched to a member in $others
// now name $survivor.
CALL () {
    UNWIND $superseded AS row
    MATCH (w:SurveyWriteIn {survey_id: row.survey_id, respondent_id: row.respondent_id, status: 'open'})
    DETACH DELETE w
}
CALL () {
    MATCH (w:SurveyWriteIn) WHERE w.respondent_id IN $others
    SET w.respondent_id = $survivor
}
CALL () {
    MATCH (w:SurveyWriteIn) WHERE w.member_id IN $others
    SET w.member_id = $survivor
}
RETURN 1 AS done

// name: merge_survey_ties_of
// The check-in ties (source survey:<id>) of the members in $others: id, source, external key and parties.
MATCH (m:Member) WHERE m.id IN $others
MATCH (m)-[c:COLLABORATES_WITH]-()
WHERE c.source STARTS WITH 'survey:'
WITH DISTINCT c
RETURN c.id AS id, c.source AS source, c.external_key AS external_key, startNode(c).id AS source_id,
       endNode(c).id AS target_id

// name: merge_survey_ties_keyed
// The ties holding the external keys in $keys: key, id and parties.
UNWIND $keys AS key
MATCH (a)-[c:COLLABORATES_WITH {external_key: key}]->(b)
RETURN c.external_key AS external_key, c.id AS id, a.id AS source_id, b.id AS target_id

// name: merge_survey_ties_drop
// Deletes the ties whose ids are in $ids (a check-in tie the survivor holds already).
UNWIND $ids AS id
MATCH ()-[c:COLLABORATES_WITH {id: id}]->()
DELETE c
RETURN count(*) AS dropped

// name: merge_survey_ties_rekey
// For each row {id, external_key}: the tie's external key, once a merge has moved it to the survivor.
UNWIND $rows AS row
MATCH ()-[c:COLLABORATES_WITH {id: row.id}]->()
SET c.external_key = row.external_key
RETURN count(*) AS rekeyed
