//! The dispatcher loop and one attempt.

use super::limiter::Plan;
use super::{Inner, CREDENTIALS_ALERT};
use replaydesk_clock::unix_ms_now;
use replaydesk_im::client::ImError;
use replaydesk_im::errors::is_group_missing;
use replaydesk_im::wire::SendGroupMsgRequest;
use replaydesk_im::ErrorClass;
use replaydesk_protocol::{MessageType, MsgBodyElem};
use replaydesk_store::{AttemptOutcome, AttemptRecord, ClaimedMessage, Transition};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;

/// Most messages claimed in one go.
const CLAIM_BATCH: usize = 100;
/// Deferred messages fall due on a grid of this many ms.
const DEFER_GRANULE_MS: i64 = 100;
/// After a claim whose every message went back to the store (a busy group's new messages
/// queueing behind its backlog), the next claim waits this long and takes up to
/// [`DEFER_CLAIM_BATCH`]: a flood into one group then costs the store a claim and a
/// deferral every so often, not two writes per intake commit (which slowed the intake of
/// a one-group flood two- to three-fold). Another group's message waits at most this.
const DEFER_PAUSE: Duration = Duration::from_millis(50);
const DEFER_CLAIM_BATCH: usize = 1000;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) async fn dispatch(inner: Arc<Inner>) {
    let mut shutdown = inner.shutdown.subscribe();
    // The last claim deferred everything it took.
    let mut deferring = false;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if deferring {
            tokio::select! {
                _ = tokio::time::sleep(DEFER_PAUSE) => {}
                _ = shutdown.changed() => return,
            }
        }
        let now = unix_ms_now();
        let paused = inner.paused.load(Ordering::SeqCst);
        let probe_at = inner.next_probe_at.load(Ordering::SeqCst);
        if paused && now < probe_at {
            idle(
                &inner,
                &mut shutdown,
                Duration::from_millis((probe_at - now) as u64),
            )
            .await;
            continue;
        }
        // Wait for a free slot before claiming: nothing is claimed while every slot is busy.
        let first = tokio::select! {
            p = inner.permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = shutdown.changed() => return,
        };
        // A full batch even when few slots are free: the claim is a write transaction (an
        // fsync), and claiming only the free slots meant one claim per message or two
        // under load. The messages beyond the free slots wait below for theirs, their
        // leases renewed like any in flight.
        let limit = if paused {
            1
        } else if deferring {
            DEFER_CLAIM_BATCH
        } else {
            inner.config.concurrency.clamp(1, CLAIM_BATCH)
        };
        deferring = false;
        let claimed = match inner
            .store
            .claim_due(&inner.owner, limit as u32, ms(inner.config.lease))
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot claim due messages; retrying");
                drop(first);
                idle(&inner, &mut shutdown, Duration::from_secs(1)).await;
                continue;
            }
        };
        if claimed.is_empty() {
            drop(first);
            let wait = match inner.store.next_due_at().await {
                Ok(Some(t)) => Duration::from_millis((t - unix_ms_now()).max(0) as u64),
                _ => inner.config.poll_interval,
            };
            idle(&inner, &mut shutdown, wait.min(inner.config.poll_interval)).await;
            continue;
        }
        if paused {
            // This one message is the probe; the next waits for its outcome or the interval.
            let next =
                super::schedule::after(unix_ms_now(), inner.config.credentials_probe_interval);
            inner.next_probe_at.store(next, Ordering::SeqCst);
        }
        let ready = plan(&inner, claimed).await;
        deferring = ready.is_empty();
        {
            let mut held = inner.in_flight.lock();
            held.extend(ready.iter().map(|(m, _)| m.id));
        }
        let mut permit = Some(first);
        for (msg, group_wait) in ready {
            let p = match permit.take() {
                Some(p) => p,
                None => match inner.permits.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            tokio::spawn(attempt(inner.clone(), msg, p, paused, group_wait));
        }
    }
}

/// Splits claimed messages into those that go now (each with its group slot's wait) and
/// those whose group is busy beyond the horizon, which are put back in the store due at
/// their turn (see `limiter`), in one write. Should that write fail, they go now instead,
/// as before fairness: nothing is left claimed and unattended.
async fn plan(inner: &Inner, claimed: Vec<ClaimedMessage>) -> Vec<(ClaimedMessage, Duration)> {
    let now = unix_ms_now();
    let mut ready = Vec::with_capacity(claimed.len());
    let mut later = Vec::new();
    let mut deferred = Vec::new();
    for msg in claimed {
        let lifecycle = matches!(
            msg.msg_type,
            MessageType::ClassStart | MessageType::ClassEnd
        );
        match inner.limiters.plan(&msg.group_id, msg.id, lifecycle) {
            Plan::Go(wait) => ready.push((msg, wait)),
            Plan::Defer(after) => {
                // Due on a 100 ms grid: a busy group's deferred messages come back a few at
                // a time (each then paced by its group's bucket), not one claim per slot.
                let due = now.saturating_add(ms(after));
                let due =
                    due.saturating_add(DEFER_GRANULE_MS - 1) / DEFER_GRANULE_MS * DEFER_GRANULE_MS;
                later.push((msg.id, due));
                deferred.push(msg);
            }
        }
    }
    if later.is_empty() {
        return ready;
    }
    match inner.store.defer(&inner.owner, &later).await {
        Ok(_) => {
            inner.stats.deferred(later.len() as u64);
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot defer messages of busy groups; sending them now");
            for msg in deferred {
                inner.limiters.undefer(msg.id);
                let wait = inner.limiters.reserve_now(&msg.group_id);
                ready.push((msg, wait));
            }
        }
    }
    ready
}

/// Renews the leases of the attempts this worker is working on, and takes back messages
/// whose lease expired (another worker died, or this one gave up recording an attempt):
/// every third of the lease, until shutdown.
pub(crate) async fn keep_leases(inner: Arc<Inner>) {
    let lease = ms(inner.config.lease);
    let every = Duration::from_millis((lease / 3).max(20) as u64);
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
        let ids: Vec<i64> = {
            let held = inner.in_flight.lock();
            held.iter().copied().collect()
        };
        if let Err(e) = inner.store.renew_leases(&inner.owner, &ids, lease).await {
            tracing::error!(error = %e, "cannot renew leases; they may be taken back");
        }
        if *shutdown.borrow() {
            // Attempts still in flight keep their leases alive until shutdown's grace ends.
            continue;
        }
        match inner.store.reclaim_expired_leases().await {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!(
                    reclaimed = n,
                    "took back messages whose worker's lease expired; retrying them"
                );
                inner.wake.notify_one();
            }
            Err(e) => tracing::error!(error = %e, "cannot take back expired leases"),
        }
        // Jobs left unfinished by a worker that stopped (on every engine several workers
        // can share a database; on PostgreSQL, several nodes).
        let me = super::Delivery {
            inner: inner.clone(),
        };
        if let Err(e) = me.adopt_jobs().await {
            tracing::error!(error = %e, "cannot look for unfinished jobs");
        }
    }
}

fn forget(inner: &Inner, message_id: i64) {
    inner.in_flight.lock().remove(&message_id);
}

async fn idle(inner: &Inner, shutdown: &mut tokio::sync::watch::Receiver<bool>, wait: Duration) {
    tokio::select! {
        _ = inner.wake.notified() => {}
        _ = tokio::time::sleep(wait.max(Duration::from_millis(1))) => {}
        _ = shutdown.changed() => {}
    }
}

/// Retries a store write for up to one lease: the attempt happened and must be recorded.
/// Past that the worker gives up and stops renewing the lease, so the message is taken
/// back (as an unknown outcome) by the next look at expired leases, while running — not
/// left `sending` until a restart.
///
/// The attempt's slot (`permit`) is given back first: it bounds the calls to IM in flight,
/// and the call is over; holding it through the commit made the commit's latency (an
/// fsync) cap the sending rate at `concurrency` per commit.
async fn record(
    inner: &Inner,
    rec: &AttemptRecord,
    t: &Transition,
    permit: &mut Option<OwnedSemaphorePermit>,
) {
    drop(permit.take());
    let give_up_at = Instant::now() + inner.config.lease;
    let mut delay = Duration::from_millis(50);
    loop {
        match inner
            .recorder
            .finish(&inner.store, &inner.owner, rec.clone(), t.clone())
            .await
        {
            Ok(true) => break,
            Ok(false) => {
                tracing::warn!(
                    message_id = rec.message_id,
                    "lease lost before the attempt was recorded: the attempt is in the history, \
                     the message is left to the worker that took it back"
                );
                break;
            }
            Err(e) if Instant::now() + delay < give_up_at => {
                tracing::error!(message_id = rec.message_id, error = %e, "cannot record attempt; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                tracing::error!(
                    message_id = rec.message_id,
                    error = %e,
                    "attempt not recorded; the message is taken back when its lease expires"
                );
                break;
            }
        }
    }
    forget(inner, rec.message_id);
}

async fn attempt(
    inner: Arc<Inner>,
    msg: ClaimedMessage,
    permit: OwnedSemaphorePermit,
    probe: bool,
    group_wait: Duration,
) {
    let mut permit = Some(permit);
    inner.limiters.acquire_send(&msg.group_id, group_wait).await;
    let paused_now = inner.paused.load(Ordering::SeqCst);
    if *inner.shutdown.borrow() || (paused_now && !probe) {
        // Not attempted: put it back, due at once; the dispatcher takes nothing while paused.
        if let Err(e) = inner
            .store
            .release(&inner.owner, msg.id, unix_ms_now())
            .await
        {
            tracing::error!(message_id = msg.id, error = %e, "cannot release message");
        }
        forget(&inner, msg.id);
        return;
    }

    let started_at = unix_ms_now();
    let clock = Instant::now();
    let mut rec = AttemptRecord {
        message_id: msg.id,
        trigger: msg.trigger,
        random: msg.random,
        started_at,
        duration_ms: 0,
        http_status: None,
        im_error_code: None,
        im_error_info: None,
        transport_error: None,
        outcome: AttemptOutcome::Sent,
    };

    // An earlier attempt may have landed, and the duplicate filter no longer covers it:
    // look in the group before sending again.
    let safe_age = ms(inner
        .config
        .duplicate_window
        .saturating_sub(inner.config.duplicate_margin));
    if let Some(since) = msg.ambiguous_since.filter(|s| started_at - s > safe_age) {
        inner.limiters.acquire_call().await;
        match inner
            .im
            .find_sent_message(&msg.group_id, msg.random, msg.seq, since.div_euclid(1000))
            .await
        {
            Ok(Some(found)) => {
                rec.duration_ms = ms(clock.elapsed());
                rec.outcome = AttemptOutcome::FoundInHistory;
                inner.stats.record(rec.outcome, rec.duration_ms as u64);
                let t = Transition::Sent {
                    im_msg_seq: i64::try_from(found.msg_seq).ok(),
                    im_msg_time: Some(found.msg_time_stamp),
                };
                record(&inner, &rec, &t, &mut permit).await;
                return;
            }
            Ok(None) => {
                tracing::info!(
                    message_id = msg.id,
                    "unknown earlier outcome: not in the group; sending again"
                );
            }
            Err(e) => {
                finish_with_error(&inner, rec, &msg, e, clock, "history look-up", &mut permit)
                    .await;
                return;
            }
        }
    }

    let req = SendGroupMsgRequest {
        group_id: msg.group_id.clone(),
        random: msg.random,
        from_account: Some(inner.im.config().admin),
        msg_body: vec![MsgBodyElem::custom(msg.data.clone())],
        extra: serde_json::Map::new(),
    };
    match inner.im.send_group_msg(&req).await {
        Ok(answer) => {
            rec.duration_ms = ms(clock.elapsed());
            rec.http_status = Some(answer.http_status);
            rec.im_error_code = Some(0);
            inner.stats.record(rec.outcome, rec.duration_ms as u64);
            let t = Transition::Sent {
                im_msg_seq: answer.body.msg_seq.and_then(|s| i64::try_from(s).ok()),
                im_msg_time: answer.body.msg_time,
            };
            record(&inner, &rec, &t, &mut permit).await;
            clear_group_missing(&inner, &msg.group_id).await;
            if inner.paused.swap(false, Ordering::SeqCst) {
                tracing::info!("IM accepted a message again; sending resumes");
                if let Err(e) = inner.store.clear_alerts(CREDENTIALS_ALERT).await {
                    tracing::error!(error = %e, "cannot clear credentials alert");
                }
                inner.wake.notify_one();
            }
        }
        Err(e) => finish_with_error(&inner, rec, &msg, e, clock, "send", &mut permit).await,
    }
}

/// Alerts that a class's group is missing, offering to create it (once per class while
/// open). A group that no class owns (a class deleted meanwhile) is only logged.
async fn raise_group_missing(inner: &Inner, group_id: &str, code: i64) {
    let class = match inner.store.class_by_group(group_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            tracing::warn!(group_id, code, "IM group missing, and no class owns it");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, group_id, "cannot look up the class of a missing group");
            return;
        }
    };
    let detail = format!(
        "The IM group {group_id:?} of class {:?} does not exist (IM {code}); its messages fail. \
         Create the group (POST /v1/admin/classes/{}/create-group), and the messages that \
         failed meanwhile are sent again.",
        class.class_id, class.class_id
    );
    tracing::warn!(group_id, class_id = %class.class_id, code, "IM group missing; alert raised");
    inner.missing_groups.lock().insert(group_id.to_owned());
    if let Err(e) = inner
        .store
        .raise_class_alert(super::GROUP_MISSING_ALERT, &class.class_id, &detail)
        .await
    {
        tracing::error!(error = %e, "cannot raise group-missing alert");
    }
}

/// A message went through to a group alerted as missing (it was created some other way
/// than the admin route): the alert is cleared. A set look-up for every other send.
async fn clear_group_missing(inner: &Inner, group_id: &str) {
    let was_missing = inner.missing_groups.lock().remove(group_id);
    if !was_missing {
        return;
    }
    match inner.store.class_by_group(group_id).await {
        Ok(Some(class)) => {
            if let Err(e) = inner
                .store
                .clear_class_alerts(super::GROUP_MISSING_ALERT, &class.class_id)
                .await
            {
                tracing::error!(error = %e, "cannot clear group-missing alert");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, group_id, "cannot look up the class of a group"),
    }
}

async fn finish_with_error(
    inner: &Inner,
    mut rec: AttemptRecord,
    msg: &ClaimedMessage,
    err: ImError,
    clock: Instant,
    what: &str,
    permit: &mut Option<OwnedSemaphorePermit>,
) {
    rec.duration_ms = ms(clock.elapsed());
    rec.http_status = err.http_status();
    match &err {
        ImError::Api { code, info, .. } => {
            rec.im_error_code = Some(*code);
            rec.im_error_info = Some(info.clone());
        }
        ImError::Transport { message, .. } => rec.transport_error = Some(message.clone()),
    }
    let now = unix_ms_now();
    let error = format!("{what}: {err}");
    let cfg = &inner.config;
    let transition = match err.class() {
        ErrorClass::Ok => Transition::Sent {
            im_msg_seq: None,
            im_msg_time: None,
        },
        ErrorClass::Retry | ErrorClass::RenewUserSig => {
            rec.outcome = if err.is_ambiguous() {
                AttemptOutcome::Ambiguous
            } else {
                AttemptOutcome::Retry
            };
            match cfg.schedule.delay(msg.retry_step) {
                Some(d) => Transition::Retry {
                    next_attempt_at: super::schedule::after(now, d),
                    advance_step: true,
                    ambiguous_at: err.is_ambiguous().then_some(rec.started_at),
                    error,
                },
                None => Transition::Failed {
                    error: format!("retry schedule used up; last error: {error}"),
                },
            }
        }
        ErrorClass::SlowDown => {
            rec.outcome = AttemptOutcome::SlowDown;
            Transition::Retry {
                next_attempt_at: super::schedule::after(
                    now,
                    super::jittered(cfg.slow_down_delay, 0.5),
                ),
                advance_step: false,
                ambiguous_at: None,
                error,
            }
        }
        ErrorClass::Permanent => {
            rec.outcome = AttemptOutcome::Permanent;
            if let ImError::Api { code, .. } = &err {
                if is_group_missing(*code) {
                    // Raised before the message is recorded failed, so "failed since the
                    // alert" takes this message too when the group is created.
                    raise_group_missing(inner, &msg.group_id, *code).await;
                }
            }
            Transition::Failed { error }
        }
        ErrorClass::Credentials => {
            rec.outcome = AttemptOutcome::Credentials;
            let probe_at = super::schedule::after(now, cfg.credentials_probe_interval);
            if !inner.paused.swap(true, Ordering::SeqCst) {
                tracing::error!(error = %err, "IM refused the credentials; sending paused");
                inner.next_probe_at.store(probe_at, Ordering::SeqCst);
            }
            if let Err(e) = inner
                .store
                .raise_alert(
                    CREDENTIALS_ALERT,
                    &format!("The IM service refused ReplayDesk's credentials ({err}). Sending is paused; nothing is lost. Fix the secret key, identifier or SDKAppID."),
                )
                .await
            {
                tracing::error!(error = %e, "cannot raise credentials alert");
            }
            // Due at once: the paused dispatcher holds it back, and it goes as soon as
            // sending resumes (key fixed, or a probe goes through).
            Transition::Retry {
                next_attempt_at: now,
                advance_step: false,
                ambiguous_at: None,
                error,
            }
        }
    };
    inner.stats.record(rec.outcome, rec.duration_ms as u64);
    record(inner, &rec, &transition, permit).await;
}
