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
    let matches = |o: &Obj| -> ApiResult<bool> { Ok(filter(o) && created_matches(p, o.created)?) };
    let (page, has_more) = if ctx.st.ids_in_created_order(owner, kind) {
        walk_page(ctx, owner, kind, p, limit, &matches)?
    } else {
        sorted_page(ctx, owner, kind, p, limit, &matches)?
    };
    Ok(json!({
        "object": "list",
        "data": page.iter().map(|o| o.json.clone()).collect::<Vec<_>>(),
        "has_more": has_more,
        "url": url,
    }))
}

type Page<'a> = (Vec<&'a Obj>, bool);

/// The cursor named by `param`: the position of an object that the list shows.
fn cursor<'a>(
    ctx: &'a Ctx,
    ids: &[std::sync::Arc<str>],
    p: &Params,
    param: &str,
    kind: &str,
    matches: &dyn Fn(&Obj) -> ApiResult<bool>,
) -> ApiResult<Option<(usize, &'a Obj)>> {
    let Some(id) = p.str_nonempty(param)? else {
        return Ok(None);
    };
    if let Some(i) = ids.iter().rposition(|x| **x == *id)
        && let Some(o) = ctx.st.get(&ids[i])
        && matches(o)?
    {
        return Ok(Some((i, o)));
    }
    Err(ApiError::no_such(kind, &id, param))
}

/// The objects at `positions` of `ids` that the list shows, at most `max`.
fn matching<'a>(
    ctx: &'a Ctx,
    ids: &[std::sync::Arc<str>],
    positions: &mut dyn Iterator<Item = usize>,
    matches: &dyn Fn(&Obj) -> ApiResult<bool>,
    max: usize,
) -> ApiResult<Vec<&'a Obj>> {
    let mut out = Vec::new();
    for i in positions {
        if out.len() == max {
            break;
        }
        if let Some(o) = ctx.st.get(&ids[i])
            && matches(o)?
        {
            out.push(o);
        }
    }
    Ok(out)
}

/// Walks the index from the cursor (or the newest end) and reads only as many objects as one
/// page needs: on a large account, a page costs the same as on a small one. Requires the index
/// to be in `created` order, so that creation order is the list's order.
fn walk_page<'a>(
    ctx: &'a Ctx,
    owner: &str,
    kind: &str,
    p: &Params,
    limit: usize,
    matches: &dyn Fn(&Obj) -> ApiResult<bool>,
) -> ApiResult<Page<'a>> {
    let ids = ctx.st.ids_of(owner, kind);
    let after = cursor(ctx, ids, p, "starting_after", kind, matches)?;
    let before = cursor(ctx, ids, p, "ending_before", kind, matches)?;
    // One more than the page, to tell whether there is more.
    let take =
        |range: &mut dyn Iterator<Item = usize>| matching(ctx, ids, range, matches, limit + 1);
    let (mut page, newer_first) = match (after, before) {
        (Some((i, _)), _) => (take(&mut (0..i).rev())?, true),
        (None, Some((i, _))) => (take(&mut (i + 1..ids.len()))?, false),
        (None, None) => (take(&mut (0..ids.len()).rev())?, true),
    };
    let has_more = page.len() > limit;
    page.truncate(limit);
    if !newer_first {
        // Collected walking towards newer objects; the page is shown newest first.
        page.reverse();
    }
    Ok((page, has_more))
}

/// Reads every object and sorts by `created`: for an index that is not in `created` order.
fn sorted_page<'a>(
    ctx: &'a Ctx,
    owner: &str,
    kind: &str,
    p: &Params,
    limit: usize,
    matches: &dyn Fn(&Obj) -> ApiResult<bool>,
) -> ApiResult<Page<'a>> {
    let ids = ctx.st.ids_of(owner, kind);
    let mut items = matching(ctx, ids, &mut (0..ids.len()), matches, usize::MAX)?;
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
    Ok(if let Some(i) = after {
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
    })
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
