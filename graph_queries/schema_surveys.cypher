// Check-ins (service/repositories/surveys.py), applied at start-up; every statement is idempotent.

// name: schema_survey_id
CREATE CONSTRAINT survey_id IF NOT EXISTS FOR (s:Survey) REQUIRE s.id IS UNIQUE

// name: schema_survey_invitation_key
// One invitation per survey and member ("<survey id>:<member id>").
CREATE CONSTRAINT survey_invitation_key IF NOT EXISTS FOR (i:SurveyInvitation) REQUIRE i.key IS UNIQUE

// name: schema_survey_invitation_token
// A token is found by its SHA-256 hash (the token itself is never stored).
CREATE CONSTRAINT survey_invitation_token IF NOT EXISTS FOR (i:SurveyInvitation) REQUIRE i.token_hash IS UNIQUE

// name: schema_survey_invitation_survey
CREATE INDEX survey_invitation_survey IF NOT EXISTS FOR (i:SurveyInvitation) ON (i.survey_id)

// name: schema_survey_invitation_pending
// Submissions waiting for their ties (service/repositories/surveys.py, derive_pending).
CREATE INDEX survey_invitation_pending IF NOT EXISTS FOR (i:SurveyInvitation) ON (i.pending)

// name: schema_survey_deriver_id
// The deriving lock's one node (deriver_lock MERGEs it).
CREATE CONSTRAINT survey_deriver_id IF NOT EXISTS FOR (d:SurveyDeriver) REQUIRE d.id IS UNIQUE

// name: schema_survey_write_in_id
CREATE CONSTRAINT survey_write_in_id IF NOT EXISTS FOR (w:SurveyWriteIn) REQUIRE w.id IS UNIQUE

// name: schema_survey_write_in_survey
CREATE INDEX survey_write_in_survey IF NOT EXISTS FOR (w:SurveyWriteIn) ON (w.survey_id)

// name: schema_survey_invitation_member
// A member's invitations, found when members are merged.
CREATE INDEX survey_invitation_member IF NOT EXISTS FOR (i:SurveyInvitation) ON (i.member_id)

// name: schema_survey_write_in_respondent
// The write-ins a member wrote, found when members are merged.
CREATE INDEX survey_write_in_respondent IF NOT EXISTS FOR (w:SurveyWriteIn) ON (w.respondent_id)

// name: schema_survey_write_in_member
// The write-ins matched to a member, found when members are merged.
CREATE INDEX survey_write_in_member IF NOT EXISTS FOR (w:SurveyWriteIn) ON (w.member_id)

// No index on NOMINATED.survey_id: with one, the planner seeked every nomination of the survey for each
// pair a submission touches (29 ms a submission at 2,000 respondents, measured) instead of expanding from
// the respondent; the results' one read of a survey's nominations scans the relationship type instead.
