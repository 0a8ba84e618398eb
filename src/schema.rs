//! Schemas of the provider block and of resources: attributes, nested blocks, the object type
//! they describe, and the plan-time properties (defaults, replacement) the engine enforces.

use std::collections::BTreeMap;

use crate::tfvalue::{Type, Value};

#[derive(Clone, Debug)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub description: String,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
}

#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub ty: Type,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    /// A change of a known value replaces the object instead of updating it.
    pub force_new: bool,
    /// Planned when the configuration leaves the attribute null (requires `computed`).
    pub default: Option<Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
}

#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub name: &'static str,
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
}

impl Attribute {
    fn new(name: &'static str, ty: Type, description: &str) -> Self {
        Attribute {
            name,
            ty,
            description: description.to_owned(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            force_new: false,
            default: None,
        }
    }
    pub fn required(name: &'static str, ty: Type, description: &str) -> Self {
        Attribute {
            required: true,
            ..Self::new(name, ty, description)
        }
    }
    pub fn optional(name: &'static str, ty: Type, description: &str) -> Self {
        Attribute {
            optional: true,
            ..Self::new(name, ty, description)
        }
    }
    pub fn computed(name: &'static str, ty: Type, description: &str) -> Self {
        Attribute {
            computed: true,
            ..Self::new(name, ty, description)
        }
    }
    pub fn optional_computed(name: &'static str, ty: Type, description: &str) -> Self {
        Attribute {
            optional: true,
            computed: true,
            ..Self::new(name, ty, description)
        }
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    /// Optional attribute with a default: it must also be computed, or Terraform would reject
    /// a plan that fills in a value the configuration left null.
    pub fn with_default(mut self, value: Value) -> Self {
        self.computed = true;
        self.default = Some(value);
        self
    }
}

impl Block {
    /// The object type of a value of this block: attributes plus nested blocks.
    pub fn value_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.to_owned(), a.ty.clone()))
            .collect();
        for b in &self.blocks {
            let inner = b.block.value_type();
            let ty = match b.nesting {
                Nesting::Single => inner,
                Nesting::List => Type::List(Box::new(inner)),
                Nesting::Set => Type::Set(Box::new(inner)),
            };
            attrs.insert(b.name.to_owned(), ty);
        }
        Type::Object(attrs)
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub fn nested(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }
}

impl Schema {
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
}

/// The conventional `timeouts` block: optional Go-duration strings per operation.
pub fn timeouts_block(operations: &[&'static str], default_text: &str) -> NestedBlock {
    NestedBlock {
        name: "timeouts",
        nesting: Nesting::Single,
        min_items: 0,
        max_items: 0,
        block: Block {
            description: format!(
                "How long each operation may take, as Go durations such as `30s`, `10m` or `1h30m` ({default_text})."
            ),
            attributes: operations
                .iter()
                .map(|op| {
                    Attribute::optional(
                        op,
                        Type::String,
                        &format!("Time allowed for {op}, as a Go duration (e.g. `10m`)."),
                    )
                })
                .collect(),
            blocks: Vec::new(),
        },
    }
}
