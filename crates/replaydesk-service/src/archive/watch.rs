//! The archiver's clock: every `archive.every` it starts the passes due (live classes,
//! classes just ended, late passes), takes back passes whose process stopped, and raises or
//! clears the archive's alerts.

use super::{ms, STALE_RUN};
use crate::ReplayDesk;
use replaydesk_store::{Actor, Door, Store};

/// A class whose oldest outstanding message expires in the IM within a day.
pub const ARCHIVE_DEADLINE_ALERT: &str = "archive_deadline";
/// A group past [`LARGE_GROUP_MESSAGES`]: the IM may start dropping its oldest messages.
pub const ARCHIVE_LARGE_GROUP_ALERT: &str = "archive_large_group";
/// Messages in a group above which the large-group alert is raised (the IM was seen
/// dropping the oldest messages of groups past about 10,000).
pub const LARGE_GROUP_MESSAGES: u64 = 9_000;
/// How long before a deadline the alert is raised.
const WARN_BEFORE_MS: i64 = 86_400_000;

pub(crate) async fn check_large_group(store: &Store, class_id: &str, top: u64) {
    if top < LARGE_GROUP_MESSAGES {
        return;
    }
    let detail = format!(
        "the class's IM group holds {top} messages (more than {LARGE_GROUP_MESSAGES}): the IM may drop its oldest ones; the archive reads it every pass"
    );
    if let Err(e) = store
        .raise_class_alert(ARCHIVE_LARGE_GROUP_ALERT, class_id, &detail)
        .await
    {
        tracing::warn!(error = %e, "cannot raise the large-group alert");
    }
}

/// One look: start the passes due, then the deadline alerts.
pub(crate) async fn tick(desk: &ReplayDesk) -> Result<(), crate::ServiceError> {
    let store = desk.store();
    let now = replaydesk_clock::unix_ms_now();
    store
        .interrupt_stale_archive_runs(now - ms(STALE_RUN))
        .await?;
    let every = ms(desk.config().archive_every);
    let late = ms(super::late_pass_after(desk.config().im.retention));
    let actor = Actor::new("archiver", Door::Cli);
    for c in store.archive_candidates(now, every, late).await? {
        let cause = match c.ended_at {
            None => "live",
            Some(e) if now >= e + late => "late",
            Some(_) => "ended",
        };
        if let Err(e) = desk
            .start_archive_pass(&c.class_id, &c.group_id, c.ended_at, cause, &actor)
            .await
        {
            tracing::warn!(error = %e, class_id = %c.class_id, "cannot start an archive pass");
        }
    }
    deadline_alerts(desk, now).await
}

async fn deadline_alerts(desk: &ReplayDesk, now: i64) -> Result<(), crate::ServiceError> {
    let store = desk.store();
    let retention = ms(desk.config().im.retention);
    let due = store
        .archive_outstanding_before(now.saturating_add(WARN_BEFORE_MS) - retention)
        .await?;
    for (class_id, since) in &due {
        let deadline = since.saturating_add(retention);
        let detail = format!(
            "messages of this class not yet archived expire in the IM at {} (unix ms {deadline}); archive it now",
            crate::archive::watch::iso(deadline)
        );
        store
            .raise_class_alert(ARCHIVE_DEADLINE_ALERT, class_id, &detail)
            .await?;
    }
    for alert in store.open_alerts().await? {
        if alert.kind != ARCHIVE_DEADLINE_ALERT {
            continue;
        }
        if let Some(class_id) = &alert.class_id {
            if !due.iter().any(|(c, _)| c == class_id) {
                store
                    .clear_class_alerts(ARCHIVE_DEADLINE_ALERT, class_id)
                    .await?;
            }
        }
    }
    Ok(())
}

/// A unix-ms time as RFC 3339 text (UTC).
pub(crate) fn iso(ms: i64) -> String {
    u64::try_from(ms.div_euclid(1000))
        .map(|s| {
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(s),
            )
            .to_string()
        })
        .unwrap_or_else(|_| ms.to_string())
}

/// Runs [`tick`] every `archive.every` until stopped.
pub(crate) async fn watch(desk: ReplayDesk, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = desk.config().archive_every;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        if let Err(e) = tick(&desk).await {
            tracing::warn!(error = %e, "archiver: cannot look for work");
        }
    }
}
