//! Stripe list objects: newest first, `limit`, cursors, `created` ranges.

use serde_json::{Value, json};

use crate::api::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::form::Params;
use crate::store::Obj;

/// Parameters every list endpoint accepts.
pub const LIST_PARAMS: &[&str] = &["limit", "starting_after", "ending_before", "created"];

fn created_matches(p: &Params, created: i64) -> ApiResult<bool> {
    if p.map.get("created").is_some_and(Value::is_string) {
        return Ok(p.i64("created")? == Some(created));
    }
    if let Some(range) = p.obj("created")? {
        range.known(&["gt", "gte", "lt", "lte"])?;
        if let Some(v) = range.i64("gt")?
            && created <= v
        {
            return Ok(false);
        }
        if let Some(v) = range.i64("gte")?
            && created < v
        {
            return Ok(false);
        }
        if let Some(v) = range.i64("lt")?
            && created >= v
        {
            return Ok(false);
        }
        if let Some(v) = range.i64("lte")?
            && created > v
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Lists `owner`'s objects of `kind` that pass `filter`. The caller has already checked the
/// endpoint's known parameters (including [`LIST_PARAMS`]).
pub fn list_objects(
    ctx: &Ctx,
    owner: &str,
    p: &Params,
    kind: &str,
    url: &str,
    filter: impl Fn(&Obj) -> bool,
) -> ApiResult<Value> {
    let limit = p.i64("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "Invalid limit: must be between 1 and 100, got {limit}"
        ))
        .with_code("parameter_invalid_integer")
        .with_param("limit"));
    }
    let limit = limit as usize;
    // Validate `created` once, before filtering, so a bad value is a 400 even on empty lists.
    created_matches(p, 0)?;
    let mut items: Vec<&Obj> = Vec::new();
    for id in ctx.st.ids_of(owner, kind) {
        if let Some(o) = ctx.st.get(id)
            && filter(o)
            && created_matches(p, o.created)?
        {
            items.push(o);
        }
    }
    // Newest first; `seq` orders objects created within the same second.
    items.sort_by_key(|o| std::cmp::Reverse((o.created, o.seq)));

    let cursor_pos = |param: &str| -> ApiResult<Option<usize>> {
        match p.str_nonempty(param)? {
            None => Ok(None),
            Some(id) => match items.iter().position(|o| o.id == id) {
                Some(i) => Ok(Some(i)),
                None => Err(ApiError::no_such(kind, &id, param)),
            },
        }
    };
    let after = cursor_pos("starting_after")?;
    let before = cursor_pos("ending_before")?;
    let (page, has_more): (Vec<&Obj>, bool) = if let Some(i) = after {
        let rest = &items[i + 1..];
        (
            rest.iter().take(limit).copied().collect(),
            rest.len() > limit,
        )
    } else if let Some(i) = before {
        // The page just newer than the cursor, still ordered newest first.
        let newer = &items[..i];
        let start = newer.len().saturating_sub(limit);
        (newer[start..].to_vec(), start > 0)
    } else {
        (
            items.iter().take(limit).copied().collect(),
            items.len() > limit,
        )
    };
    Ok(json!({
        "object": "list",
        "data": page.iter().map(|o| o.json.clone()).collect::<Vec<_>>(),
        "has_more": has_more,
        "url": url,
    }))
}

/// An embedded list (e.g. `refunds` on an application fee), newest first.
pub fn embedded(items: Vec<Value>, url: String) -> Value {
    let total = items.len();
    let has_more = total > 10;
    json!({
        "object": "list",
        "data": items.into_iter().take(10).collect::<Vec<_>>(),
        "has_more": has_more,
        "total_count": total,
        "url": url,
    })
}
