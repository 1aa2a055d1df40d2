//! Embeds `migrations/` into the binary (see `db::migrations`).
//!
//! `sqlx::migrate!` does the same, but its proc macro compiles a second copy of sqlx-core,
//! both drivers and the bundled SQLite C library for the host: about a third of a cold release
//! build for one macro call. The file selection and version parsing follow sqlx's own
//! `resolve_blocking`, so the list is the one `migrate!` produced; the rest (description,
//! checksum) is computed at run time by `sqlx::migrate::Migration::new`.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    // A directory makes cargo rerun this script when any file below it changes or appears.
    println!("cargo:rerun-if-changed=migrations");

    let mut found = Vec::new();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("error reading migration directory {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("error reading {}: {e}", dir.display()));
        let path = entry.path();
        // Follows symlinks, as sqlx does.
        if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let file_name = entry.file_name().to_string_lossy().into_owned();
        // `<VERSION>_<DESCRIPTION>[.up|.down].sql`; sqlx silently skips anything else.
        let Some((version, rest)) = file_name.split_once('_') else {
            continue;
        };
        if !rest.ends_with(".sql") {
            continue;
        }
        let version: i64 = version.parse().unwrap_or_else(|_| {
            panic!(
                "error parsing migration filename {file_name:?}; expected integer version prefix (e.g. `01_foo.sql`)"
            )
        });
        found.push((version, rest.to_owned(), file_name));
    }
    // Same order as sqlx: ascending version (an up/down pair shares one).
    found.sort();

    let mut code = String::from("&[\n");
    // Paths are relative to the crate being compiled, not absolute: the generated file is reused
    // by every checkout that shares a target directory (CI clones, worktrees), and an absolute
    // path would point into whichever checkout ran this script last.
    for (version, rest, file_name) in &found {
        writeln!(
            code,
            "    ({version}, {rest:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/migrations/\", {file_name:?}))),"
        )
        .unwrap();
    }
    code.push_str("]\n");
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("migrations.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
