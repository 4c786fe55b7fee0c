//! Classroom clients' reports: timeline (1003) with its time_line, class start and end
//! (1001/1002), refused reports kept, and the raw reports listed for admins.

use super::intake::SubmitError;
use super::{
    validate, ClassEventAccepted, ClassEventReport, ReplayDesk, ServiceError, ServiceResult,
    TimelineAccepted, TimelineReport, MAX_PAGE,
};
use replaydesk_align::RttSource;
use replaydesk_protocol::{check_size, Payload, ReplayMessage, Seq, UserValue};
use replaydesk_store::{
    ClassEvent, ClassEventIntake, ClassRecord, IntakeItem, MemberRole, Page, RefusedReport,
    TimelineIntake, TimelineReportRecord,
};
use std::sync::atomic::Ordering;

/// The largest body a report (timeline, start, end) may have, bytes; `max_body_bytes` when
/// that is smaller. A report is three short fields (a 128-character uid written entirely
/// in `\u` escapes is about 1.6 KB): anything near this is padding, and each report's
/// body is kept.
pub const REPORT_MAX_BODY_BYTES: usize = 4096;
/// Of a refused report's body, the first this many bytes are kept.
pub const REFUSED_REPORT_SAMPLE_BYTES: usize = 1024;
/// The fields a timeline report carries; any other is ignored and not kept.
pub const TIMELINE_FIELDS: [&str; 3] = ["uid", "timestamp", "rtt_ms"];

/// What is kept of an accepted report's body: the body as received when it holds only
/// [`TIMELINE_FIELDS`]; else those fields alone, re-encoded (unknown fields mean nothing
/// to ReplayDesk, and keeping them let a member pad every report it sent).
pub fn kept_report_body(body: &str) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body) else {
        return sample(body, REFUSED_REPORT_SAMPLE_BYTES).0;
    };
    if map.keys().all(|k| TIMELINE_FIELDS.contains(&k.as_str())) {
        return body.to_owned();
    }
    let known: serde_json::Map<String, serde_json::Value> = map
        .into_iter()
        .filter(|(k, _)| TIMELINE_FIELDS.contains(&k.as_str()))
        .collect();
    serde_json::Value::Object(known).to_string()
}

/// The first `max` bytes of `text` (cut at a character boundary), and whether it was cut.
pub fn sample(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_owned(), false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

/// Where a report came from and when it arrived.
#[derive(Debug, Clone, Default)]
pub struct ReportMeta {
    /// When the report arrived, unix ms (taken as early as possible).
    pub received_at: i64,
    /// The request body as received, kept with the report.
    pub body: String,
    /// The kernel's round-trip estimate of the reporting connection (`TCP_INFO`), ms.
    pub kernel_rtt_ms: Option<f64>,
}

/// Which round trip corrects a report's `time_line`: the client's own measurement first;
/// else, unless ReplayDesk sits behind a proxy (whose connection the kernel would be
/// timing), the kernel's; else none (the receipt time stands).
pub fn pick_rtt(
    client_rtt_ms: Option<f64>,
    kernel_rtt_ms: Option<f64>,
    behind_proxy: bool,
) -> (Option<f64>, RttSource) {
    match (client_rtt_ms, kernel_rtt_ms) {
        (Some(r), _) => (Some(r), RttSource::Client),
        (None, Some(k)) if !behind_proxy && (0.0..=60_000.0).contains(&k) => {
            (Some(k), RttSource::Kernel)
        }
        _ => (None, RttSource::None),
    }
}

/// The server time paired with a report that arrived at `received_at` after a measured
/// round trip of `rtt_ms`: half the round trip earlier (the one-way delay, if the path is
/// symmetric), rounded to the ms; and how far off it may be (half the round trip,
/// rounded up).
pub fn time_line_for(received_at: i64, rtt_ms: Option<f64>) -> (i64, Option<i64>) {
    match rtt_ms {
        Some(rtt) => {
            let half = rtt / 2.0;
            // `rtt` is checked to lie in 0..=60000: these casts cannot overflow.
            (received_at - half.round() as i64, Some(half.ceil() as i64))
        }
        None => (received_at, None),
    }
}

impl ReplayDesk {
    /// A class's timeline reports as received (accepted and refused), newest first.
    pub async fn timeline_reports(
        &self,
        class_id: &str,
        cursor: Option<i64>,
        limit: u32,
    ) -> ServiceResult<Page<TimelineReportRecord>> {
        self.class(class_id).await?;
        Ok(self
            .inner
            .store
            .timeline_reports(class_id, cursor, limit.clamp(1, MAX_PAGE))
            .await?)
    }

    // ---- reports ----

    /// The class a report names, from the in-process cache (see `store::cache`): reports
    /// need only its group, teacher and enrolment rule.
    pub(crate) async fn report_class(&self, class_id: &str) -> ServiceResult<ClassRecord> {
        match self.inner.store.class_entry(class_id).await? {
            Some(entry) => Ok(entry.record.clone()),
            None => Err(ServiceError::NotFound(format!(
                "class {class_id:?} not found"
            ))),
        }
    }

    pub(crate) fn role_of(class: &ClassRecord, uid: &str) -> MemberRole {
        if class.teacher_uid == uid {
            MemberRole::Teacher
        } else {
            MemberRole::Student
        }
    }

    async fn submit(&self, item: IntakeItem) -> ServiceResult<replaydesk_store::Inserted> {
        if self.inner.stopped.load(Ordering::SeqCst) {
            return Err(ServiceError::Unavailable("the server is stopping".into()));
        }
        match self.inner.intake.submit(item).await {
            Ok(ins) => Ok(ins),
            Err(SubmitError::Closed) => {
                Err(ServiceError::Unavailable("the server is stopping".into()))
            }
            Err(SubmitError::Store(e)) => Err(e.into()),
        }
    }

    /// A uid given for `class_id`: a new one must pass the identifier rule
    /// ([`validate::uid`]); one the class already has as a member (stored before the rule,
    /// which leaves stored data as it is) is taken as it is, so that member keeps working.
    pub(crate) async fn check_member_uid(
        &self,
        class_id: &str,
        field: &str,
        uid: &str,
    ) -> Result<(), String> {
        let Err(refused) = validate::uid(field, uid) else {
            return Ok(());
        };
        validate::uid_printable(field, uid)?;
        match self.inner.store.is_member(class_id, uid).await {
            Ok(true) => Ok(()),
            _ => Err(refused),
        }
    }

    /// Keeps a refused timeline report (its client proved it may report to the class).
    pub async fn record_refused_timeline(
        &self,
        class_id: &str,
        uid: Option<&str>,
        timestamp: Option<i64>,
        rtt_ms: Option<f64>,
        reason: &str,
        meta: &ReportMeta,
    ) {
        self.inner.refused.fetch_add(1, Ordering::Relaxed);
        // A sample of the body, as for refused callbacks: the reason says what was cut.
        let (body, cut) = sample(&meta.body, REFUSED_REPORT_SAMPLE_BYTES);
        let reason = if cut {
            format!(
                "{reason} (body of {} bytes: the first {REFUSED_REPORT_SAMPLE_BYTES} kept)",
                meta.body.len()
            )
        } else {
            reason.to_owned()
        };
        let r = RefusedReport {
            class_id: Some(class_id.to_owned()),
            // Kept only when printable and short enough to show (a look-alike refused by
            // the identifier rule is kept, for the admin to see what was sent).
            uid: uid
                .filter(|u| validate::uid_printable("uid", u).is_ok())
                .map(str::to_owned),
            client_timestamp: timestamp,
            rtt_ms: rtt_ms
                .filter(|r| r.is_finite() && r.abs() < 1e15)
                .map(|r| r.round() as i64),
            received_at: meta.received_at,
            reason,
            body,
        };
        if let Err(e) = self.inner.store.record_refused_report(&r).await {
            tracing::warn!(error = %e, "could not keep a refused timeline report");
        }
    }

    /// Records a timeline report and its 1003 (time_line = arrival − rtt/2 when the round
    /// trip is given) in one transaction; answers once it is durable. A repeat (same uid
    /// and timestamp) is the same message. Invalid reports are kept as refused.
    pub async fn record_timeline(
        &self,
        class_id: &str,
        report: TimelineReport,
        meta: ReportMeta,
    ) -> ServiceResult<TimelineAccepted> {
        let class = self.report_class(class_id).await?;
        let checked = self
            .check_member_uid(class_id, "uid", &report.uid)
            .await
            .and_then(|()| validate::timestamp(report.timestamp))
            .and_then(|ts| {
                report
                    .rtt_ms
                    .map(validate::rtt_ms)
                    .transpose()
                    .map(|r| (ts, r))
            });
        let (timestamp, rtt) = match checked {
            Ok(v) => v,
            Err(reason) => {
                self.record_refused_timeline(
                    class_id,
                    Some(&report.uid),
                    Some(report.timestamp),
                    report.rtt_ms,
                    &reason,
                    &meta,
                )
                .await;
                return Err(ServiceError::Invalid(reason));
            }
        };
        let (rtt, rtt_source) = pick_rtt(rtt, meta.kernel_rtt_ms, self.config().behind_proxy);
        let (time_line, uncertainty_ms) = time_line_for(meta.received_at, rtt);
        let role = Self::role_of(&class, &report.uid);
        let message = size_checked(ReplayMessage::new(
            Seq::random(),
            timestamp,
            Payload::Timeline {
                time_line,
                value: UserValue::new(report.uid),
            },
        ))?;
        let item = IntakeItem::Timeline(TimelineIntake {
            role,
            class_id: class.class_id,
            group_id: class.group_id,
            message,
            rtt_ms: rtt.map(|r| r.round() as i64),
            rtt_source: rtt_source.as_str(),
            uncertainty_ms,
            received_at: meta.received_at,
            body: kept_report_body(&meta.body),
        });
        let ins = self.submit(item).await?;
        self.heartbeat_saw_report(class_id, &ins.message.uid);
        // A repeat answers with the time_line its message was made with: the first report's.
        let time_line = if ins.created {
            time_line
        } else {
            self.store()
                .report_of_message(ins.message.id)
                .await?
                .and_then(|first| first.time_line)
                .unwrap_or(time_line)
        };
        Ok(TimelineAccepted {
            message_id: ins.message.id,
            seq: ins.message.seq,
            time_line,
        })
    }

    /// Records a class start (1001) or end (1002) and updates the class's state, in one
    /// transaction; a repeat (same uid and timestamp) is the same message.
    pub async fn record_class_event(
        &self,
        class_id: &str,
        event: ClassEvent,
        report: ClassEventReport,
    ) -> ServiceResult<ClassEventAccepted> {
        let class = self.report_class(class_id).await?;
        self.check_member_uid(class_id, "uid", &report.uid)
            .await
            .map_err(ServiceError::Invalid)?;
        let timestamp = validate::timestamp(report.timestamp).map_err(ServiceError::Invalid)?;
        let role = Self::role_of(&class, &report.uid);
        let value = UserValue::new(report.uid);
        let payload = match event {
            ClassEvent::Start => Payload::ClassStart(value),
            ClassEvent::End => Payload::ClassEnd(value),
        };
        let item = IntakeItem::ClassEvent(ClassEventIntake {
            role,
            class_id: class.class_id,
            group_id: class.group_id,
            message: size_checked(ReplayMessage::new(Seq::random(), timestamp, payload))?,
        });
        let ins = self.submit(item).await?;
        Ok(ClassEventAccepted {
            message_id: ins.message.id,
            seq: ins.message.seq,
        })
    }
}

/// `message`, once its `Data` is known to fit in one IM message.
fn size_checked(message: ReplayMessage) -> ServiceResult<ReplayMessage> {
    check_size(&message.to_data()).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_not_kept_and_a_sample_is_cut_at_a_character() {
        let plain = r#"{"uid": "s1", "timestamp": 5.0}"#;
        assert_eq!(kept_report_body(plain), plain, "as received");
        let padded = format!(
            r#"{{"pad":"{}","uid":"s1","timestamp":5,"rtt_ms":12.5,"x":{{"y":1}}}}"#,
            "z".repeat(3000)
        );
        assert_eq!(
            kept_report_body(&padded),
            r#"{"uid":"s1","timestamp":5,"rtt_ms":12.5}"#
        );
        assert_eq!(sample("héllo", 2), ("h".to_owned(), true));
        assert_eq!(sample("héllo", 3), ("hé".to_owned(), true));
        assert_eq!(sample("hi", 3), ("hi".to_owned(), false));
    }

    #[test]
    fn time_line_is_half_the_round_trip_earlier() {
        assert_eq!(time_line_for(1000, None), (1000, None));
        assert_eq!(time_line_for(1000, Some(0.0)), (1000, Some(0)));
        assert_eq!(time_line_for(1000, Some(100.0)), (950, Some(50)));
        assert_eq!(time_line_for(1000, Some(5.0)), (997, Some(3)));
        assert_eq!(time_line_for(1000, Some(60_000.0)), (-29_000, Some(30_000)));
    }

    #[test]
    fn the_clients_rtt_wins_then_the_kernels_unless_behind_a_proxy() {
        assert_eq!(
            pick_rtt(Some(80.0), Some(30.0), false),
            (Some(80.0), RttSource::Client)
        );
        assert_eq!(
            pick_rtt(Some(80.0), Some(30.0), true),
            (Some(80.0), RttSource::Client)
        );
        assert_eq!(
            pick_rtt(None, Some(30.0), false),
            (Some(30.0), RttSource::Kernel)
        );
        assert_eq!(pick_rtt(None, Some(30.0), true), (None, RttSource::None));
        assert_eq!(pick_rtt(None, None, false), (None, RttSource::None));
        // A nonsense kernel figure is not used.
        assert_eq!(
            pick_rtt(None, Some(90_000.0), false),
            (None, RttSource::None)
        );
    }
}
