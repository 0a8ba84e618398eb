//! The user documentation keeps up with the code: every provider argument and every resource
//! and data source attribute the schema declares is named in the registry docs, each resource
//! and data source has its page and example, and the README gives a newcomer the two commands
//! that work.

use std::path::Path;

use tfprovider::provider::AlicloudProvider;
use tfprovider::resource::Provider;
use tfprovider::schema::Block;
use tfprovider::tfvalue::Type;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every attribute, nested block and nested block attribute of `block`, as `a`, `b` and
/// `b.c` (the last as the bare `c`, which is how docs name it under the block's heading).
fn names(block: &Block) -> Vec<String> {
    let mut out: Vec<String> = block.attributes.iter().map(|a| a.name.to_owned()).collect();
    for nested in &block.blocks {
        out.push(nested.name.to_owned());
        out.extend(names(&nested.block));
    }
    out
}

/// Names not written as `` `name` `` in `doc`.
fn undocumented(doc: &str, names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|n| !doc.contains(&format!("`{n}`")))
        .cloned()
        .collect()
}

#[test]
fn provider_doc_names_every_argument() {
    let provider = AlicloudProvider::new();
    let names = names(&provider.schema().block);
    assert!(names.iter().any(|n| n == "endpoints"), "{names:?}");
    let missing = undocumented(&read("docs/index.md"), &names);
    assert!(
        missing.is_empty(),
        "docs/index.md does not mention these provider arguments: {missing:?}"
    );
}

#[test]
fn resource_docs_name_every_attribute() {
    let provider = AlicloudProvider::new();
    assert!(!provider.resources().is_empty());
    for make in provider.resources() {
        let resource = make();
        let type_name = resource.type_name();
        let short = type_name
            .strip_prefix("alicloud_")
            .unwrap_or_else(|| panic!("{type_name} lacks the provider prefix"));
        let page = format!("docs/resources/{short}.md");
        let doc = read(&page);
        let block = &resource.schema().block;
        let names = names(block);
        let missing = undocumented(&doc, &names);
        assert!(
            missing.is_empty(),
            "{page} does not mention these attributes of {type_name}: {missing:?}"
        );
        for heading in ["### Required", "### Optional", "### Read-Only", "## Import"] {
            assert!(doc.contains(heading), "{page} has no {heading:?} section");
        }
        for nested in &block.blocks {
            assert!(
                doc.contains(&format!("### Nested Schema for `{}`", nested.name)),
                "{page} does not describe the `{}` block",
                nested.name
            );
        }
        let example = read(&format!("examples/resources/{type_name}/resource.tf"));
        assert!(
            example.contains(&format!("resource \"{type_name}\"")),
            "examples/resources/{type_name}/resource.tf does not use {type_name}"
        );
    }
}

/// Attributes of the objects inside list, set or object typed attributes (`logs[*].status`),
/// as `(attribute, inner name)`.
fn object_attribute_names(block: &Block) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for a in &block.attributes {
        let inner = match &a.ty {
            Type::List(e) | Type::Set(e) => e.as_ref(),
            other => other,
        };
        if let Some(attrs) = inner.attribute_types() {
            out.extend(attrs.keys().map(|k| (a.name.to_owned(), k.clone())));
        }
    }
    out
}

#[test]
fn data_source_docs_name_every_attribute() {
    let provider = AlicloudProvider::new();
    assert!(!provider.data_sources().is_empty());
    for make in provider.data_sources() {
        let ds = make();
        let type_name = ds.type_name();
        let short = type_name
            .strip_prefix("alicloud_")
            .unwrap_or_else(|| panic!("{type_name} lacks the provider prefix"));
        let page = format!("docs/data-sources/{short}.md");
        let doc = read(&page);
        let block = &ds.schema().block;
        let missing = undocumented(&doc, &names(block));
        assert!(
            missing.is_empty(),
            "{page} does not mention these attributes of {type_name}: {missing:?}"
        );
        for heading in ["## Example Usage", "### Optional", "### Read-Only"] {
            assert!(doc.contains(heading), "{page} has no {heading:?} section");
        }
        for (outer, inner) in object_attribute_names(block) {
            let section = format!("### Nested Schema for `{outer}`");
            let nested = doc
                .split_once(&section)
                .unwrap_or_else(|| panic!("{page} does not describe the objects of `{outer}`"))
                .1;
            assert!(
                nested.contains(&format!("`{inner}`")),
                "{page} does not mention `{outer}[*].{inner}` under {section:?}"
            );
        }
        let example_path = format!("examples/data-sources/{type_name}/data-source.tf");
        let example = read(&example_path);
        assert!(
            example.contains(&format!("data \"{type_name}\"")),
            "{example_path} does not use {type_name}"
        );
    }
}

#[test]
fn readme_gives_the_two_commands() {
    let readme = read("README.md");
    for command in ["cargo run --release --example quickstart", "cargo test"] {
        assert!(readme.contains(command), "README.md lacks `{command}`");
    }
}
