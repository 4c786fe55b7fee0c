//! The console's operations: one entry each. An entry reads
//!
//! ```text
//! /// What it does (the OpenAPI description and the console's doc).
//! name: method "/path/{param}" => success status, Role,
//!     path (param: Type, ...),
//!     input none [] | query [Type] | body [Type] | optional_body [Type] | bundle [],
//!     output json [Type] | untyped [Type] | empty [()],
//!     |desk, input, actor| the service call;
//! ```
//!
//! The role is who may call it, the one declaration of it: the HTTP door refuses anyone
//! below it (403) before the path, query or body is read. `Viewer` classes, messages and
//! alignment; `Support` every view, alignment, reconcile and export; `Admin` everything
//! (resend, jobs, class changes, credentials, keys, people).
//!
//! `output untyped` is JSON whose type has no OpenAPI schema (the console's bindings name
//! it); `empty` answers 204 with no body over HTTP and `null` over IPC.

use super::models::{
    AddedMembers, Alert, AuditEntry, ClassStream, Job, Page, RecorderEvent,
    RecordingCallbackRecord, RosterMember, StoredMessage, TimelineReportRecord,
};
use super::ErrorBody;
use crate::archive::{ArchiveJob, ArchiveStarted, ClassArchive};
use crate::heartbeat::ClassPresence;
use crate::people::{
    AddUser, CreateToken, CreatedToken, SetRole, TokenInfo, TokensQuery, UserInfo,
    UserWithSetupCode,
};
use crate::reconcile::{ReconcileRequest, ReconcileRun};
use crate::recordings::{ClassRecordings, EnteredRecording};
use crate::requests::{
    AddMembers, AddStream, AuditQuery, CallbackQuery, ClassQuery, EnterRecording, IssueCredentials,
    JobsQuery, MessageQuery, PageQuery, RecoverRequest, ResendFilter, ResendMessageRequest,
    SandboxFaults, SecretKeyRequest, UpdateClass,
};
use crate::{
    AssignCallback, AssignedCallback, ClassBundle, ClassSummary, CreateClass, CreatedClass,
    GroupCreated, JoinSheet, MemberCredential, MessageDetail, RecoverPreview, ResendOutcome,
    ResendPreview, UnassignedCallback,
};
use replaydesk_align::Alignment;

operations! {
    /// Creates a class: `{"class_id","group_id","teacher_uid","create_group"?,
    /// "legacy_class_token"?,"open_enrolment"?,"room_id"?}` → the class, the teacher's
    /// `teacher_credential`, and `report_token` (legacy option only).
    create_class: post "/v1/classes" => 201, Admin,
        path (),
        input body [CreateClass],
        output json [CreatedClass],
        |desk, body, actor| desk.console().create_class(body, actor);

    /// Every class with per-status message counts; `q` narrows by id, group or teacher.
    list_classes: get "/v1/admin/classes" => 200, Viewer,
        path (),
        input query [ClassQuery],
        output json [Vec<ClassSummary>],
        |desk, query, _| desk.console().list_classes(query);

    /// One class with its per-status message counts.
    get_class: get "/v1/admin/classes/{class_id}" => 200, Viewer,
        path (class_id: String),
        input none [],
        output json [ClassSummary],
        |desk, _, _| desk.console().get_class(&class_id);

    /// Changes a class: `{"room_id"}`, the TRTC room it is held in (a string, or a whole
    /// number taken as its text; `null` clears it). Audited (`set_class_room`).
    update_class: patch "/v1/admin/classes/{class_id}" => 200, Admin,
        path (class_id: String),
        input body [UpdateClass],
        output json [ClassSummary],
        |desk, body, actor| desk.console().update_class(&class_id, body, actor);

    /// The stream ids registered in the class, each with its user.
    class_streams: get "/v1/admin/classes/{class_id}/streams" => 200, Support,
        path (class_id: String),
        input none [],
        output json [Vec<ClassStream>],
        |desk, _, _| desk.console().class_streams(&class_id);

    /// Registers a stream id for a user: `{"stream_id","uid"}`; a CSS recording of that
    /// stream (which carries no `stream_param` when started by API) becomes the user's
    /// 1004. 409 when the class has it already. Audited (`add_class_stream`).
    add_class_stream: post "/v1/admin/classes/{class_id}/streams" => 201, Admin,
        path (class_id: String),
        input body [AddStream],
        output json [ClassStream],
        |desk, body, actor| desk.console().add_class_stream(&class_id, body, actor);

    /// Removes a registered stream id (recordings already announced stay). Audited
    /// (`remove_class_stream`).
    remove_class_stream: delete "/v1/admin/classes/{class_id}/streams/{stream_id}" => 200, Admin,
        path (class_id: String, stream_id: String),
        input none [],
        output json [ClassStream],
        |desk, _, actor| desk.console().remove_class_stream(&class_id, &stream_id, actor);

    /// The class's recorder life, oldest first: every recording status event from TRTC
    /// and CSS (started, slices, files, stopped, errors) with what became of it and the
    /// 1004 it made.
    class_recorder_events: get "/v1/admin/classes/{class_id}/recorder-events" => 200, Viewer,
        path (class_id: String),
        input none [],
        output json [Vec<RecorderEvent>],
        |desk, _, _| desk.console().class_recorder_events(&class_id);

    /// The class's recordings: per member each recorder's life (started, slices, files,
    /// stopped, errors) from either cloud or entered by hand, the 1004 of each file, and
    /// each recorder that started and has no file (with its `recording_missing` alert)
    /// → `{class_id, missing_after_ms, recorders, messages}`.
    class_recordings: get "/v1/admin/classes/{class_id}/recordings" => 200, Viewer,
        path (class_id: String),
        input none [],
        output json [ClassRecordings],
        |desk, _, _| desk.console().class_recordings(&class_id);

    /// Enters a recording file by hand, with the 1004's own fields and units: `{"uid",
    /// "video_id","video_url","start_time","end_time"` (unix seconds)`,"duration"?,
    /// "file_size"?,"type"?` (`main`|`aux`)`,"task_id"?}` (the recorder it stands for,
    /// from the `recording_missing` alert). Checked as a callback's file is, it becomes the
    /// same 1004 (`media_start_time` 0), is kept in the recorder life as entered by hand,
    /// and clears the alerts it answers. 409 when the class already announces the same
    /// `video_id` or `video_url`. Audited (`enter_recording`).
    enter_recording: post "/v1/admin/classes/{class_id}/recordings" => 201, Admin,
        path (class_id: String),
        input body [EnterRecording],
        output json [EnteredRecording],
        |desk, body, actor| desk.console().enter_recording(&class_id, body, actor);

    /// The roster: each member with its credential's generation, when it was issued and
    /// whether it is revoked (never the credential itself).
    class_members: get "/v1/admin/classes/{class_id}/members" => 200, Support,
        path (class_id: String),
        input none [],
        output json [Vec<RosterMember>],
        |desk, _, _| desk.console().class_members(&class_id);

    /// Registers the roster before anyone reports: `{"uids": [...]}` (1 to 1000 uids, each
    /// checked before any is added) → `{class_id, added, existing}`. Audited
    /// (`add_members`).
    add_members: post "/v1/admin/classes/{class_id}/members" => 200, Admin,
        path (class_id: String),
        input body [AddMembers],
        output json [AddedMembers],
        |desk, body, actor| desk.console().add_members(&class_id, body, actor);

    /// A new report credential for the member (a uid the class does not know is enrolled
    /// as a student); its earlier one is refused from now on. Audited
    /// (`issue_credential`).
    member_credential: post "/v1/admin/classes/{class_id}/members/{uid}/credential" => 200, Admin,
        path (class_id: String, uid: String),
        input none [],
        output json [MemberCredential],
        |desk, _, actor| desk.console().member_credential(&class_id, &uid, actor);

    /// Revokes the member's credential: its reports are refused until a credential is
    /// issued again. 404 not a member; 409 revoked already. Audited
    /// (`revoke_credential`).
    revoke_credential: post "/v1/admin/classes/{class_id}/members/{uid}/revoke" => 200, Admin,
        path (class_id: String, uid: String),
        input none [],
        output json [RosterMember],
        |desk, _, actor| desk.console().revoke_credential(&class_id, &uid, actor);

    /// The join sheet: `{"uids"?, "server_url"?}` → a new credential for each member named
    /// (default: every student), with its join text and QR code. Each member's earlier
    /// credential is refused from then on; each issue is audited (`issue_credential`). The
    /// answer is the only place these credentials appear.
    issue_credentials: post "/v1/admin/classes/{class_id}/credentials" => 200, Admin,
        path (class_id: String),
        input body [IssueCredentials],
        output json [JoinSheet],
        |desk, body, actor| desk.console().issue_credentials(&class_id, body, actor);

    /// Ends a started class for its teacher: a 1002 on the teacher's behalf, stamped with
    /// the teacher's clock by their newest timeline pair. 409 unless the class has
    /// started, or when the teacher never reported a pair. Audited (`end_class`).
    end_class: post "/v1/admin/classes/{class_id}/end" => 200, Admin,
        path (class_id: String),
        input none [],
        output json [ClassSummary],
        |desk, _, actor| desk.console().end_class(&class_id, actor);

    /// Reopens an ended class: back to `created`, it may start and end once more. 409
    /// unless it has ended. Audited.
    reopen_class: post "/v1/admin/classes/{class_id}/reopen" => 200, Admin,
        path (class_id: String),
        input none [],
        output json [ClassSummary],
        |desk, _, actor| desk.console().reopen_class(&class_id, actor);

    /// Creates the class's IM group (the fix a `group_missing` alert offers; one that
    /// exists is fine), clears the alert and queues again the messages that failed since
    /// it → `{class_id, group_id, group_created, alert_cleared, job}`. Audited.
    create_group: post "/v1/admin/classes/{class_id}/create-group" => 200, Admin,
        path (class_id: String),
        input none [],
        output json [GroupCreated],
        |desk, _, actor| desk.console().create_group(&class_id, actor);

    /// The class's raw timeline reports, newest first, a page at a time.
    class_reports: get "/v1/admin/classes/{class_id}/reports" => 200, Support,
        path (class_id: String),
        input query [PageQuery],
        output json [Page<TimelineReportRecord>],
        |desk, query, _| desk.console().class_reports(&class_id, query);

    /// The class's messages, filtered and paged → `{items, next_cursor}`.
    class_messages: get "/v1/admin/classes/{class_id}/messages" => 200, Viewer,
        path (class_id: String),
        input query [MessageQuery],
        output json [Page<StoredMessage>],
        |desk, query, _| desk.console().class_messages(&class_id, query);

    /// The class's alignment: each member's clock against the server's, with diagnostics.
    class_alignment: get "/v1/admin/classes/{class_id}/alignment" => 200, Viewer,
        path (class_id: String),
        input none [],
        output untyped [Alignment],
        |desk, _, _| desk.class_alignment(&class_id);

    /// Who is in the class now (each member that heartbeat: last seen, clock health) and
    /// the 1003s ReplayDesk sent from their tracked clocks, with why.
    class_presence: get "/v1/admin/classes/{class_id}/presence" => 200, Viewer,
        path (class_id: String),
        input none [],
        output json [ClassPresence],
        |desk, _, _| desk.class_presence(&class_id);

    /// Starts (or resumes) comparing the class's IM group history with the message log:
    /// `{restart?, pages_per_second?}` → 202 with the run; fetching goes on in the
    /// background.
    reconcile_class: post "/v1/admin/classes/{class_id}/reconcile" => 202, Support,
        path (class_id: String),
        input body [ReconcileRequest],
        output untyped [ReconcileRun],
        |desk, body, actor| desk.reconcile_class(&class_id, body, actor);

    /// The class's latest reconcile run with its progress and report (`null` before the
    /// first).
    class_reconcile: get "/v1/admin/classes/{class_id}/reconcile" => 200, Support,
        path (class_id: String),
        input none [],
        output untyped [Option<ReconcileRun>],
        |desk, _, _| desk.reconcile_status(&class_id);

    /// The class's ReplayGroup archive: `{state, archived, holes: [{from_seq, to_seq,
    /// reason}], last_seq, deadline_ms, kinds, error, last_run_at, job, imported}`.
    class_archive: get "/v1/admin/classes/{class_id}/archive" => 200, Viewer,
        path (class_id: String),
        input none [],
        output json [ClassArchive],
        |desk, _, _| desk.class_archive(&class_id);

    /// Archives the class's IM group now, from the last message archived: 202 `{job_id}`;
    /// the pass runs in the background (its progress at `.../archive/jobs/{id}`). A
    /// pass already running is answered with its id.
    archive_class: post "/v1/admin/classes/{class_id}/archive" => 202, Support,
        path (class_id: String),
        input none [],
        output json [ArchiveStarted],
        |desk, _, actor| desk.archive_now(&class_id, actor);

    /// One archiving pass with its progress (pages, messages fetched, state, error).
    archive_job: get "/v1/admin/classes/{class_id}/archive/jobs/{id}" => 200, Viewer,
        path (class_id: String, id: i64),
        input none [],
        output json [ArchiveJob],
        |desk, _, _| desk.archive_job(&class_id, id);

    /// The class as one JSON bundle without secrets: the class, members, messages,
    /// attempts, group history and alignment.
    export_class: get "/v1/admin/classes/{class_id}/export" => 200, Support,
        path (class_id: String),
        input none [],
        output untyped [ClassBundle],
        |desk, _, _| desk.export_class(&class_id);

    /// Imports a class bundle (from `GET /v1/admin/classes/{class_id}/export`) as a
    /// read-only record (`imported_at`): never delivered, resent, reconciled or reopened.
    /// A bad bundle (400/422) or a class or group already present (409) is refused, and
    /// nothing changes.
    import_class: post "/v1/admin/import" => 201, Admin,
        path (),
        input bundle [],
        output json [ClassSummary],
        |desk, bundle, actor| desk.import_bundle_input(bundle, actor);

    /// Messages across classes, filtered and paged (`class` narrows) → `{items,
    /// next_cursor}`.
    list_messages: get "/v1/admin/messages" => 200, Viewer,
        path (),
        input query [MessageQuery],
        output json [Page<StoredMessage>],
        |desk, query, _| desk.console().list_messages(query);

    /// One message with its attempts → `{message, attempts}`.
    get_message: get "/v1/admin/messages/{id}" => 200, Viewer,
        path (id: i64),
        input none [],
        output json [MessageDetail],
        |desk, _, _| desk.console().get_message(id);

    /// Queues the message again → 202 `{queued, message}`. A message already `sent` is
    /// refused (409) unless the body says `{"duplicate": true}` (a second copy in the
    /// group, with the same `seq`).
    resend_message: post "/v1/admin/messages/{id}/resend" => 202, Admin,
        path (id: i64),
        input optional_body [ResendMessageRequest],
        output json [ResendOutcome],
        |desk, body, actor| desk.console().resend_message(id, body, actor);

    /// Every message matching the filter, as a job (202), once the count is confirmed:
    /// `confirm_count` must be what the preview stated and still match (409 otherwise).
    bulk_resend: post "/v1/admin/resend" => 202, Admin,
        path (),
        input body [ResendFilter],
        output json [Job],
        |desk, body, actor| desk.console().bulk_resend(body, actor);

    /// How many messages a bulk resend with this filter would take, and the filter as
    /// applied → `{count, filter}`. Changes nothing.
    preview_resend: post "/v1/admin/resend/preview" => 200, Admin,
        path (),
        input body [ResendFilter],
        output json [ResendPreview],
        |desk, body, _| desk.console().preview_resend(body);

    /// Queues again every message that failed since `since_ms`, as a job (202); with
    /// `confirm_count`, only if that many match now (409 otherwise).
    recover: post "/v1/admin/recover" => 202, Admin,
        path (),
        input body [RecoverRequest],
        output json [Job],
        |desk, body, actor| desk.console().recover(body, actor);

    /// How many messages a recovery would take → `{count, since_ms, class_id}`. Changes
    /// nothing.
    preview_recover: post "/v1/admin/recover/preview" => 200, Admin,
        path (),
        input body [RecoverRequest],
        output json [RecoverPreview],
        |desk, body, _| desk.console().preview_recover(body);

    /// The newest jobs (bulk resends, recoveries), newest first.
    list_jobs: get "/v1/admin/jobs" => 200, Admin,
        path (),
        input query [JobsQuery],
        output json [Vec<Job>],
        |desk, query, _| desk.console().list_jobs(query);

    /// One job and its progress.
    get_job: get "/v1/admin/jobs/{id}" => 200, Admin,
        path (id: i64),
        input none [],
        output json [Job],
        |desk, _, _| desk.console().get_job(id);

    /// The messages the job took on, newest first, as they are now → `{items,
    /// next_cursor}`.
    job_messages: get "/v1/admin/jobs/{id}/messages" => 200, Admin,
        path (id: i64),
        input query [PageQuery],
        output json [Page<StoredMessage>],
        |desk, query, _| desk.console().job_messages(id, query);

    /// The audit log, newest first → `{items, next_cursor}`; `action` exactly, `target`
    /// by its start.
    list_audit: get "/v1/admin/audit" => 200, Support,
        path (),
        input query [AuditQuery],
        output json [Page<AuditEntry>],
        |desk, query, _| desk.console().list_audit(query);

    /// The open alerts.
    list_alerts: get "/v1/admin/alerts" => 200, Support,
        path (),
        input none [],
        output json [Vec<Alert>],
        |desk, _, _| desk.console().list_alerts();

    /// Recording callbacks, newest first, by status → `{items, next_cursor}`.
    list_callbacks: get "/v1/admin/callbacks" => 200, Support,
        path (),
        input query [CallbackQuery],
        output json [Page<RecordingCallbackRecord>],
        |desk, query, _| desk.console().list_callbacks(query);

    /// One recording callback.
    get_callback: get "/v1/admin/callbacks/{id}" => 200, Support,
        path (id: i64),
        input none [],
        output json [RecordingCallbackRecord],
        |desk, _, _| desk.console().get_callback(id);

    /// Assigns an unplaced recording callback to a class (and member), queueing its 1004.
    assign_callback: post "/v1/admin/callbacks/{id}/assign" => 200, Admin,
        path (id: i64),
        input body [AssignCallback],
        output json [AssignedCallback],
        |desk, body, actor| desk.console().assign_callback(id, body, actor);

    /// Undoes an assignment while its 1004 is not sent (409 once it is).
    unassign_callback: post "/v1/admin/callbacks/{id}/unassign" => 200, Admin,
        path (id: i64),
        input none [],
        output json [UnassignedCallback],
        |desk, _, actor| desk.console().unassign_callback(id, actor);

    /// Fixes the IM secret key (`{"secret_key"}`) → 204; sending resumes.
    set_secret_key: put "/v1/admin/im/secret-key" => 204, Admin,
        path (),
        input body [SecretKeyRequest],
        output empty [()],
        |desk, body, actor| desk.console().set_secret_key(body, actor);

    /// Sets the sandbox emulator's fault knobs → those now in force (409 when the IM
    /// service is real: nothing to set). Audited.
    set_sandbox_faults: put "/v1/admin/sandbox/faults" => 200, Admin,
        path (),
        input body [SandboxFaults],
        output json [SandboxFaults],
        |desk, body, actor| desk.console().set_sandbox_faults(body, actor);

    /// The console's people, by name, with their role and whether they set a password
    /// (never a password, hash or code).
    list_users: get "/v1/admin/users" => 200, Admin,
        path (),
        input none [],
        output json [Vec<UserInfo>],
        |desk, _, _| desk.people().list_users();

    /// Adds a person: `{"name","role"}` → the user and a one-time `setup_code` (this
    /// answer is the only place it appears) that they exchange for a password at
    /// `POST /v1/auth/setup`. 409 when the name is taken. Audited (`user_add`).
    add_user: post "/v1/admin/users" => 201, Admin,
        path (),
        input body [AddUser],
        output json [UserWithSetupCode],
        |desk, body, actor| desk.people().add_user(body, actor);

    // The path parameter is `user`, not `name`: over IPC `name` is the operation's own.
    /// Gives a person another role: `{"role"}`. Their API tokens never act above it.
    /// Audited (`user_set_role`).
    set_user_role: put "/v1/admin/users/{user}/role" => 200, Admin,
        path (user: String),
        input body [SetRole],
        output json [UserInfo],
        |desk, body, actor| desk.people().set_user_role(&user, body, actor);

    /// Disables a person: no sign-in, their sessions end and their tokens are refused, on
    /// every node. 409 when disabled already. Audited (`user_disable`).
    disable_user: post "/v1/admin/users/{user}/disable" => 200, Admin,
        path (user: String),
        input none [],
        output json [UserInfo],
        |desk, _, actor| desk.people().disable_user(&user, actor);

    /// Ends a person's password and sessions → the user and a new one-time
    /// `setup_code` (enables a disabled person again). Audited (`user_reset_password`).
    reset_user_password: post "/v1/admin/users/{user}/reset-password" => 200, Admin,
        path (user: String),
        input none [],
        output json [UserWithSetupCode],
        |desk, _, actor| desk.people().reset_user_password(&user, actor);

    /// API tokens, newest first (`user` narrows to one person's); never a token itself.
    list_tokens: get "/v1/admin/tokens" => 200, Admin,
        path (),
        input query [TokensQuery],
        output json [Vec<TokenInfo>],
        |desk, query, _| desk.people().list_tokens(query);

    /// Makes an API token for a person: `{"user","name","role"?,"expires"?}` (role at most
    /// the person's; `expires` such as `30d`) → its description and the `token`, shown
    /// this once. Audited (`token_create`).
    create_token: post "/v1/admin/tokens" => 201, Admin,
        path (),
        input body [CreateToken],
        output json [CreatedToken],
        |desk, body, actor| desk.people().create_token(body, actor);

    /// Revokes an API token: refused from now on, on every node. 409 when revoked
    /// already. Audited (`token_revoke`).
    revoke_token: post "/v1/admin/tokens/{id}/revoke" => 200, Admin,
        path (id: i64),
        input none [],
        output json [TokenInfo],
        |desk, _, actor| desk.people().revoke_token(id, actor);
}
