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
    list_among(
        ctx,
        owner,
        p,
        kind,
        ctx.st.ids_of(owner, kind),
        url,
        &filter,
    )
}

/// A filter on one of the store's indexed references ([`crate::store::REFERENCES`]): the
/// objects whose `field` names `value`.
pub struct ByRef<'a> {
    pub field: &'static str,
    pub value: &'a str,
}

/// [`list_objects`] narrowed, when `by` is given, to the objects that name `by.value` in
/// `by.field`: it reads only those, however many other objects of `kind` the account holds.
pub fn list_objects_by_ref(
    ctx: &Ctx,
    owner: &str,
    p: &Params,
    kind: &str,
    by: Option<ByRef<'_>>,
    url: &str,
    filter: impl Fn(&Obj) -> bool,
) -> ApiResult<Value> {
    let Some(by) = by else {
        return list_objects(ctx, owner, p, kind, url, filter);
    };
    let ids = ctx.st.ids_by_ref(owner, kind, by.field, by.value);
    // The index may hold a stray candidate (see `ids_by_ref`).
    let filter =
        |o: &Obj| o.owner == owner && o.kind == kind && o.json[by.field] == by.value && filter(o);
    list_among(ctx, owner, p, kind, ids, url, &filter)
}

fn list_among(
    ctx: &Ctx,
    owner: &str,
    p: &Params,
    kind: &str,
    ids: &[std::sync::Arc<str>],
    url: &str,
    filter: &dyn Fn(&Obj) -> bool,
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
    let q = Query {
        ctx,
        kind,
        p,
        limit,
        ids,
        matches: &matches,
    };
    // `ids` is `ids_of(owner, kind)` or a subsequence of it, so the same order holds.
    let (page, has_more) = if ctx.st.ids_in_created_order(owner, kind) {
        q.walk_page()?
    } else {
        q.sorted_page()?
    };
    Ok(json!({
        "object": "list",
        "data": page.iter().map(|o| o.json.clone()).collect::<Vec<_>>(),
        "has_more": has_more,
        "url": url,
    }))
}

type Page<'a> = (Vec<&'a Obj>, bool);

/// One list request: the ids of the owner's objects of `kind` (oldest first) and what the
/// client asked for.
struct Query<'a> {
    ctx: &'a Ctx<'a>,
    kind: &'a str,
    p: &'a Params,
    limit: usize,
    ids: &'a [std::sync::Arc<str>],
    /// The endpoint's filter and `created`.
    matches: &'a dyn Fn(&Obj) -> ApiResult<bool>,
}

impl<'a> Query<'a> {
    /// The cursor named by `param`: the position of an object that the list shows.
    fn cursor(&self, param: &str) -> ApiResult<Option<usize>> {
        let Some(id) = self.p.str_nonempty(param)? else {
            return Ok(None);
        };
        if let Some(i) = self.ids.iter().rposition(|x| **x == *id)
            && let Some(o) = self.ctx.st.get(&self.ids[i])
            && (self.matches)(o)?
        {
            return Ok(Some(i));
        }
        Err(ApiError::no_such(self.kind, &id, param))
    }

    /// The objects at `positions` that the list shows, at most `max`.
    fn matching(
        &self,
        positions: &mut dyn Iterator<Item = usize>,
        max: usize,
    ) -> ApiResult<Vec<&'a Obj>> {
        let mut out = Vec::new();
        for i in positions {
            if out.len() == max {
                break;
            }
            if let Some(o) = self.ctx.st.get(&self.ids[i])
                && (self.matches)(o)?
            {
                out.push(o);
            }
        }
        Ok(out)
    }

    /// Walks the index from the cursor (or the newest end) and reads only as many objects as
    /// one page needs: on a large account, a page costs the same as on a small one. Requires
    /// the index to be in `created` order, so that creation order is the list's order.
    fn walk_page(&self) -> ApiResult<Page<'a>> {
        let after = self.cursor("starting_after")?;
        let before = self.cursor("ending_before")?;
        // One more than the page, to tell whether there is more.
        let max = self.limit + 1;
        let (mut page, newer_first) = match (after, before) {
            (Some(i), _) => (self.matching(&mut (0..i).rev(), max)?, true),
            (None, Some(i)) => (self.matching(&mut (i + 1..self.ids.len()), max)?, false),
            (None, None) => (self.matching(&mut (0..self.ids.len()).rev(), max)?, true),
        };
        let has_more = page.len() > self.limit;
        page.truncate(self.limit);
        if !newer_first {
            // Collected walking towards newer objects; the page is shown newest first.
            page.reverse();
        }
        Ok((page, has_more))
    }

    /// Reads every object and sorts by `created`: for an index that is not in `created` order.
    fn sorted_page(&self) -> ApiResult<Page<'a>> {
        let mut items = self.matching(&mut (0..self.ids.len()), usize::MAX)?;
        // Newest first; `seq` orders objects created within the same second.
        items.sort_by_key(|o| std::cmp::Reverse((o.created, o.seq)));
        let cursor_pos = |param: &str| -> ApiResult<Option<usize>> {
            match self.p.str_nonempty(param)? {
                None => Ok(None),
                Some(id) => match items.iter().position(|o| o.id == id) {
                    Some(i) => Ok(Some(i)),
                    None => Err(ApiError::no_such(self.kind, &id, param)),
                },
            }
        };
        let after = cursor_pos("starting_after")?;
        let before = cursor_pos("ending_before")?;
        let limit = self.limit;
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
}

/// An embedded list (e.g. `refunds` on an application fee), newest first. Like Stripe's lists
/// it has no `total_count`.
pub fn embedded(items: Vec<Value>, url: String) -> Value {
    let has_more = items.len() > 10;
    json!({
        "object": "list",
        "data": items.into_iter().take(10).collect::<Vec<_>>(),
        "has_more": has_more,
        "url": url,
    })
}
