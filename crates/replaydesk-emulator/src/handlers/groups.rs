//! The group commands: `create_group` and `destroy_group`.

use super::{answer, fail, invalid, quoted, refused, Answer};
use crate::codes::*;
use crate::state::AV_CHAT_ROOM;
use crate::Emulator;
use replaydesk_im::wire::{
    self, ApiStatus, CreateGroupRequest, CreateGroupResponse, DestroyGroupRequest,
    HISTORY_GROUP_TYPES,
};
use serde_json::Value;
use std::time::Instant;

pub(super) fn create_group(emu: &Emulator, json: Value) -> Answer {
    let req: CreateGroupRequest = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => return invalid("create_group", e),
    };
    let group_type = req.group_type.as_str();
    if group_type != AV_CHAT_ROOM && !HISTORY_GROUP_TYPES.contains(&group_type) {
        return fail(
            INVALID_PARAMETER,
            format!("unknown group Type {}", quoted(group_type)),
        );
    }
    // An empty GroupId is taken as none: the service generates one.
    let custom_id = req.group_id.as_deref().filter(|id| !id.is_empty());
    if let Some(id) = custom_id {
        if let Err(reason) = wire::validate_group_id(id) {
            return fail(INVALID_PARAMETER, format!("invalid GroupId: {reason}"));
        }
    }
    let created = emu
        .shared
        .groups
        .lock()
        .create(custom_id, group_type, Instant::now());
    match created {
        Ok(group_id) => answer(
            OK,
            &CreateGroupResponse {
                status: ApiStatus::ok(),
                group_id,
            },
        ),
        Err(r) => refused(r, custom_id.unwrap_or_default()),
    }
}

pub(super) fn destroy_group(emu: &Emulator, json: Value) -> Answer {
    let req: DestroyGroupRequest = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => return invalid("destroy_group", e),
    };
    let destroyed = emu.shared.groups.lock().destroy(&req.group_id);
    match destroyed {
        Ok(()) => answer(OK, &ApiStatus::ok()),
        Err(r) => refused(r, &req.group_id),
    }
}
