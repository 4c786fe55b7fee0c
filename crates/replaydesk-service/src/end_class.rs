//! An admin ends a class on the teacher's behalf (the teacher's app crashed, or the
//! teacher left without ending it): the 1002 is stamped with the teacher's clock as their
//! newest timeline pair maps the server's clock now, so that a player places it where the
//! teacher's own End would have been.

use super::{ClassEventReport, ClassSummary, ReplayDesk, ServiceError, ServiceResult};
use replaydesk_store::Actor;
use replaydesk_store::{ClassEvent, ClassState};

/// The teacher's client clock at server time `now_ms`, by the pair (`client_ms`,
/// `server_ms`). A 32-bit clock (docs/protocol.md section 5) wraps as the client's would.
pub(crate) fn client_clock_at(client_ms: i64, server_ms: i64, now_ms: i64) -> i64 {
    let t = client_ms.saturating_add(now_ms.saturating_sub(server_ms));
    if (0..=i64::from(u32::MAX)).contains(&client_ms) && t > i64::from(u32::MAX) {
        t & i64::from(u32::MAX)
    } else {
        t.max(0)
    }
}

impl ReplayDesk {
    /// Ends a started class for its teacher: sends the 1002 stamped by the teacher's newest
    /// timeline pair. Audited (`end_class`). 409 unless the class has started, or when the
    /// teacher never reported a pair (the 1002 could not be placed).
    pub async fn end_class_for_teacher(
        &self,
        class_id: &str,
        actor: &Actor,
    ) -> ServiceResult<ClassSummary> {
        let class = self.class(class_id).await?;
        super::import::refuse_if_imported(&class, "ending")?;
        match class.state {
            ClassState::Started => {}
            ClassState::Created => {
                return Err(ServiceError::Conflict(format!(
                    "class {class_id:?} has not started: there is nothing to end"
                )))
            }
            ClassState::Ended => {
                return Err(ServiceError::Conflict(format!(
                    "class {class_id:?} has ended already"
                )))
            }
        }
        let store = self.store();
        let (client_ms, server_ms) = store
            .latest_pair(class_id, &class.teacher_uid)
            .await?
            .ok_or_else(|| {
                ServiceError::Conflict(format!(
                    "the teacher {:?} never reported a timeline pair: the end cannot be stamped with their clock",
                    class.teacher_uid
                ))
            })?;
        let now = replaydesk_store::now_ms();
        let timestamp = client_clock_at(client_ms, server_ms, now);
        let accepted = self
            .record_class_event(
                class_id,
                ClassEvent::End,
                ClassEventReport {
                    uid: class.teacher_uid.clone(),
                    timestamp,
                },
            )
            .await?;
        store
            .audit(
                actor,
                "end_class",
                &format!("class:{class_id}"),
                &serde_json::json!({
                    "message_id": accepted.message_id,
                    "teacher_uid": class.teacher_uid,
                    "timestamp": timestamp,
                    "pair": {"client_ms": client_ms, "server_ms": server_ms},
                }),
            )
            .await?;
        tracing::info!(class_id, actor = %actor, "class ended by an admin");
        self.class_summary(class_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::client_clock_at;

    #[test]
    fn the_teachers_clock_moves_with_the_servers_and_wraps_at_32_bits() {
        assert_eq!(client_clock_at(5_000, 1_000_000, 1_060_000), 65_000);
        // A 32-bit clock near its wrap comes round past zero, as the client's would.
        let near = i64::from(u32::MAX) - 1_000;
        assert_eq!(client_clock_at(near, 0, 3_000), 1_999);
        // A 64-bit clock does not wrap.
        let big = 1_i64 << 40;
        assert_eq!(client_clock_at(big, 0, 3_000), big + 3_000);
    }
}
