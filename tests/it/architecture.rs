//! The architecture of ARCHITECTURE.md, held by a test: every Rust file under `src/` is parsed and
//! each path it names (in `use` trees and in code) is resolved against the module it sits in.
//! Fails when the kernel imports an app, accounts imports another app, an app imports the
//! console, a service or operations code imports an app or HTTP types it must not, or two
//! OpenAPI schemas share a name (utoipa would silently keep one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A rule: files whose module path starts with `from` (but not `not_from`) may not name a path
/// starting with `to`, unless it starts with one of `except`.
struct Rule {
    name: &'static str,
    from: &'static [&'static str],
    not_from: Option<&'static [&'static str]>,
    to: &'static [&'static str],
    except: &'static [&'static [&'static str]],
    /// Only files whose module path contains this segment (e.g. "service").
    within: Option<&'static str>,
}

const RULES: &[Rule] = &[
    Rule {
        name: "the kernel imports no app",
        from: &["kernel"],
        not_from: None,
        to: &["apps"],
        except: &[],
        within: None,
    },
    Rule {
        name: "accounts imports no other app",
        from: &["apps", "accounts"],
        not_from: None,
        to: &["apps"],
        except: &[&["apps", "accounts"]],
        within: None,
    },
    Rule {
        name: "no app imports the console",
        from: &["apps"],
        not_from: Some(&["apps", "admin"]),
        to: &["apps", "admin"],
        except: &[],
        within: None,
    },
    Rule {
        name: "a service imports no HTTP types",
        from: &["apps"],
        not_from: None,
        to: &["kernel", "http"],
        except: &[],
        within: Some("service"),
    },
    Rule {
        name: "operations code imports no app",
        from: &["ops"],
        not_from: None,
        to: &["apps"],
        except: &[],
        within: None,
    },
];

/// A Rust source file: its module path (`["apps", "blog", "service", "posts"]`) and its text.
struct SourceFile {
    module: Vec<String>,
    text: String,
    /// Names of modules a bare path may start with here (the file's own child modules).
    children: Vec<String>,
}

fn source_files(root: &Path) -> Vec<SourceFile> {
    let mut files = Vec::new();
    walk(root, &mut files);
    files
        .into_iter()
        .map(|path| {
            let module = module_path(root, &path);
            let text = std::fs::read_to_string(&path).unwrap();
            let dir = if path.file_name().is_some_and(|n| n == "mod.rs" || n == "lib.rs") {
                path.parent().unwrap().to_owned()
            } else {
                path.with_extension("")
            };
            let children = std::fs::read_dir(&dir)
                .map(|entries| {
                    entries.filter_map(Result::ok).filter_map(|e| module_name(&e.path())).collect::<Vec<_>>()
                })
                .unwrap_or_default();
            SourceFile { module, text, children }
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_name(path: &Path) -> Option<String> {
    if path.is_dir() {
        return path.file_name().map(|n| n.to_string_lossy().into_owned());
    }
    (path.extension().is_some_and(|e| e == "rs")).then(|| path.file_stem().unwrap().to_string_lossy().into_owned())
}

/// `src/apps/blog/service/mod.rs` → `["apps", "blog", "service"]`; `src/lib.rs` → `[]`.
fn module_path(root: &Path, path: &Path) -> Vec<String> {
    let relative = path.strip_prefix(root).unwrap().with_extension("");
    let mut module: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(module.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        module.pop();
    }
    module
}

/// Every path the file names, resolved to an absolute module path where it can be
/// (`crate::…`, `super::…`, `self::…`, or a child module of this file).
fn named_paths(file: &SourceFile) -> Vec<Vec<String>> {
    let syntax = syn::parse_file(&file.text).unwrap_or_else(|e| panic!("{:?} does not parse: {e}", file.module));
    let mut collector = Collector { raw: Vec::new() };
    collector.visit_file(&syntax);
    collector.raw.into_iter().filter_map(|raw| resolve(file, &raw)).collect()
}

struct Collector {
    raw: Vec<Vec<String>>,
}

impl Collector {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.push(prefix, &n.ident.to_string()),
            syn::UseTree::Rename(r) => self.push(prefix, &r.ident.to_string()),
            syn::UseTree::Glob(_) => self.raw.push(prefix.clone()),
            syn::UseTree::Group(g) => g.items.iter().for_each(|item| self.use_tree(prefix, item)),
        }
    }

    fn push(&mut self, prefix: &[String], last: &str) {
        let mut path = prefix.to_vec();
        if last != "self" {
            path.push(last.to_owned());
        }
        self.raw.push(path);
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.raw.push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }
}

fn resolve(file: &SourceFile, raw: &[String]) -> Option<Vec<String>> {
    let (first, rest) = raw.split_first()?;
    let mut base = match first.as_str() {
        "crate" | "shoestring" => Vec::new(),
        "self" => file.module.clone(),
        "super" => file.module[..file.module.len().saturating_sub(1)].to_vec(),
        name if file.children.iter().any(|c| c == name) => {
            let mut base = file.module.clone();
            base.push(name.to_owned());
            return Some(base.into_iter().chain(rest.iter().cloned()).collect());
        }
        _ => return None,
    };
    let mut rest = rest;
    while let Some(("super", tail)) = rest.split_first().map(|(h, t)| (h.as_str(), t)) {
        base.pop();
        rest = tail;
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

fn starts_with(path: &[String], prefix: &[&str]) -> bool {
    path.len() >= prefix.len() && path.iter().zip(prefix).all(|(a, b)| a == b)
}

/// Every broken rule: "rule: module → path".
fn violations(files: &[SourceFile]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let paths = named_paths(file);
        for rule in RULES {
            let applies = starts_with(&file.module, rule.from)
                && !rule.not_from.is_some_and(|not_from| starts_with(&file.module, not_from))
                && rule.within.is_none_or(|segment| file.module.iter().any(|m| m == segment));
            if !applies {
                continue;
            }
            for path in &paths {
                if starts_with(path, rule.to) && !rule.except.iter().any(|e| starts_with(path, e)) {
                    found.push(format!("{}: {} names {}", rule.name, file.module.join("::"), path.join("::")));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Names of the types that derive `ToSchema` (or the name given with `#[schema(as = …)]`), with
/// the modules that define them, for every name defined more than once.
fn duplicate_schemas(files: &[SourceFile]) -> BTreeMap<String, Vec<String>> {
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files {
        let syntax = syn::parse_file(&file.text).unwrap();
        for item in &syntax.items {
            let (ident, attrs) = match item {
                syn::Item::Struct(s) => (&s.ident, &s.attrs),
                syn::Item::Enum(e) => (&e.ident, &e.attrs),
                _ => continue,
            };
            let derives_schema =
                attrs.iter().any(|a| a.path().is_ident("derive") && meta_text(&a.meta).contains("ToSchema"));
            if derives_schema {
                let renamed = attrs.iter().filter(|a| a.path().is_ident("schema")).find_map(schema_alias);
                let name = renamed.unwrap_or_else(|| ident.to_string());
                seen.entry(name).or_default().push(file.module.join("::"));
            }
        }
    }
    seen.retain(|_, modules| modules.len() > 1);
    seen
}

fn schema_alias(attr: &syn::Attribute) -> Option<String> {
    let text = meta_text(&attr.meta);
    let after = text.split("as =").nth(1)?;
    Some(after.trim().trim_end_matches(')').rsplit("::").next()?.trim().to_owned())
}

/// An attribute's arguments as text.
fn meta_text(meta: &syn::Meta) -> String {
    match meta {
        syn::Meta::List(list) => list.tokens.to_string(),
        syn::Meta::NameValue(_) | syn::Meta::Path(_) => String::new(),
    }
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_code_keeps_the_layers_of_architecture_md() {
    let files = source_files(&src_dir());
    assert!(files.len() > 50, "the source tree was not found");

    let broken = violations(&files);

    assert!(broken.is_empty(), "architecture rules broken:\n{}", broken.join("\n"));
}

#[test]
fn no_two_openapi_schemas_share_a_name() {
    let files = source_files(&src_dir());

    let duplicates = duplicate_schemas(&files);

    assert!(duplicates.is_empty(), "OpenAPI schema names defined twice: {duplicates:?}");
}

/// The checker itself: each rule fires on a file that breaks it, and stays quiet on one that
/// does not.
#[test]
fn the_architecture_check_catches_each_kind_of_violation() {
    let file = |module: &str, text: &str| SourceFile {
        module: module.split("::").map(str::to_owned).collect(),
        text: text.to_owned(),
        children: Vec::new(),
    };
    let files = [
        file("kernel::jobs", "use crate::apps::blog::Post;"),
        file("apps::accounts::pages::profile", "fn f() { crate::apps::blog::activity(); }"),
        file("apps::accounts::service::profile", "use super::super::super::blog::Post;"),
        file("apps::blog::pages", "use crate::apps::{accounts::Viewer, admin::guard};"),
        file("apps::blog::service::posts", "use crate::kernel::http::AppError;"),
        file("ops::backup", "use crate::apps::accounts;"),
        file("apps::blog::api", "use crate::kernel::http::AppError; use crate::apps::accounts::MaybeUser;"),
        file("apps::admin::pages::users", "use crate::apps::admin::forms::BulkForm; use crate::apps::blog::Post;"),
        file("apps::accounts::api", "#[derive(ToSchema)] struct SessionResponse;"),
        file("apps::accounts::api::profile", "#[derive(Serialize, ToSchema)] struct SessionResponse;"),
    ];

    let broken = violations(&files);
    let duplicates = duplicate_schemas(&files);

    let expected = [
        "the kernel imports no app: kernel::jobs names apps::blog::Post",
        "accounts imports no other app: apps::accounts::pages::profile names apps::blog::activity",
        "accounts imports no other app: apps::accounts::service::profile names apps::blog::Post",
        "no app imports the console: apps::blog::pages names apps::admin::guard",
        "a service imports no HTTP types: apps::blog::service::posts names kernel::http::AppError",
        "operations code imports no app: ops::backup names apps::accounts",
    ];
    for rule in expected {
        assert!(broken.iter().any(|b| b == rule), "not caught: {rule}\ncaught: {broken:#?}");
    }
    assert_eq!(broken.len(), expected.len(), "a lawful file was flagged: {broken:#?}");
    assert_eq!(duplicates.keys().collect::<Vec<_>>(), ["SessionResponse"]);
}
