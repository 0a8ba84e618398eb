//! The engine's rules and dispatch, with a fake resource and a fake data source that are
//! plain structs of closures: what every resource gets without writing it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::diag::{AttrPath, Diagnostics};
use crate::engine::{Engine, EngineError, rules};
use crate::resource::{
    Ctx, DataSource, DataSourceFactory, PlanRequest, Provider, ProviderData, Resource,
    ResourceFactory,
};
use crate::schema::{Attribute, Block, Schema, timeouts_block};
use crate::tfvalue::{Type, Value};

type Op = Box<dyn Fn(&Ctx, &Value, &mut Diagnostics) -> Option<Value> + Send + Sync>;

/// A resource whose every operation is a closure; records which operations ran.
struct FakeResource {
    schema: Schema,
    create: Op,
    update: Op,
    read: Op,
    /// Delete fails with this error summary, if set.
    delete_fails: Option<&'static str>,
    calls: Mutex<Vec<&'static str>>,
}

fn schema() -> Schema {
    Schema {
        version: 1,
        block: Block {
            description: "A fake.".into(),
            attributes: vec![
                Attribute::computed("id", Type::String, "ID."),
                Attribute::required("name", Type::String, "Name.").force_new(),
                Attribute::optional("size", Type::Number, "Size."),
                Attribute::optional("mode", Type::String, "Mode.")
                    .with_default(Value::string("fast")),
                Attribute::computed("note", Type::String, "Computed."),
            ],
            blocks: vec![timeouts_block(&["create", "delete"], "default 1m")],
        },
    }
}

fn returns(v: Option<Value>) -> Op {
    Box::new(move |_, _, _| v.clone())
}

impl FakeResource {
    fn new() -> Self {
        FakeResource {
            schema: schema(),
            // Echo what was planned, with the computed values filled in.
            create: Box::new(|_, planned, _| Some(known(planned))),
            update: Box::new(|_, planned, _| Some(known(planned))),
            read: Box::new(|_, current, _| Some(current.clone())),
            delete_fails: None,
            calls: Mutex::new(Vec::new()),
        }
    }

    fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }

    fn record(&self, op: &'static str) {
        self.calls.lock().unwrap().push(op);
    }
}

/// The planned value with unknowns replaced, as a create would return.
fn known(planned: &Value) -> Value {
    let Value::Object(m) = planned else {
        return planned.clone();
    };
    Value::Object(
        m.iter()
            .map(|(k, v)| {
                let v = if v.is_unknown() {
                    Value::string(format!("{k}-from-api"))
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect(),
    )
}

#[async_trait]
impl Resource for FakeResource {
    fn type_name(&self) -> &'static str {
        "fake_thing"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        self.record("validate");
        if config.get("name").and_then(Value::as_str) == Some("bad") {
            diags.attr_error(AttrPath::attr("name"), "Bad name", "");
        }
    }
    fn modify_plan(&self, _req: &PlanRequest<'_>, _planned: &mut Value, _diags: &mut Diagnostics) {
        self.record("modify_plan");
    }
    async fn create(&self, ctx: &Ctx, planned: &Value, diags: &mut Diagnostics) -> Option<Value> {
        self.record("create");
        (self.create)(ctx, planned, diags)
    }
    async fn update(
        &self,
        ctx: &Ctx,
        _prior: &Value,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        self.record("update");
        (self.update)(ctx, planned, diags)
    }
    async fn delete(&self, _ctx: &Ctx, _prior: &Value, diags: &mut Diagnostics) {
        self.record("delete");
        if let Some(summary) = self.delete_fails {
            diags.error(summary, "scripted");
        }
    }
    async fn read(&self, ctx: &Ctx, current: &Value, diags: &mut Diagnostics) -> Option<Value> {
        self.record("read");
        (self.read)(ctx, current, diags)
    }
    async fn import(&self, _ctx: &Ctx, id: &str, _diags: &mut Diagnostics) -> Option<Value> {
        self.record("import");
        Some(obj(&[("id", Value::string(id))]))
    }
}

/// An object of the fake's type: every attribute null except these.
fn obj(set: &[(&str, Value)]) -> Value {
    let mut m: BTreeMap<String, Value> = ["id", "name", "size", "mode", "note", "timeouts"]
        .into_iter()
        .map(|k| (k.to_owned(), Value::Null))
        .collect();
    for (k, v) in set {
        assert!(m.contains_key(*k), "no attribute {k}");
        m.insert((*k).to_owned(), v.clone());
    }
    Value::Object(m)
}

fn s(v: &str) -> Value {
    Value::string(v)
}

fn errors(diags: &Diagnostics) -> Vec<String> {
    diags.iter().map(|d| d.summary.clone()).collect()
}

#[test]
fn plan_rules() {
    let res = FakeResource::new();
    let ctx = Ctx::default();
    let unknown = Value::unknown;
    struct Row {
        name: &'static str,
        prior: Value,
        proposed: Value,
        config: Value,
        planned: Value,
        replace: Vec<AttrPath>,
    }
    let stored = obj(&[
        ("id", s("t-1")),
        ("name", s("a")),
        ("size", Value::int(1)),
        ("mode", s("fast")),
        ("note", s("from api")),
    ]);
    let with = |base: &Value, k: &str, v: Value| {
        let mut b = base.clone();
        *b.get_mut(k).unwrap() = v;
        b
    };
    let rows = [
        Row {
            name: "create: computed unknown, default applied",
            prior: Value::Null,
            proposed: obj(&[("name", s("a"))]),
            config: obj(&[("name", s("a"))]),
            planned: obj(&[
                ("id", unknown()),
                ("name", s("a")),
                ("mode", s("fast")),
                ("note", unknown()),
            ]),
            replace: vec![],
        },
        Row {
            name: "create: configured value beats the default",
            prior: Value::Null,
            proposed: obj(&[("name", s("a")), ("mode", s("slow"))]),
            config: obj(&[("name", s("a")), ("mode", s("slow"))]),
            planned: obj(&[
                ("id", unknown()),
                ("name", s("a")),
                ("mode", s("slow")),
                ("note", unknown()),
            ]),
            replace: vec![],
        },
        Row {
            name: "update: prior computed values kept",
            prior: stored.clone(),
            proposed: with(&stored, "size", Value::int(2)),
            config: obj(&[("name", s("a")), ("size", Value::int(2))]),
            planned: with(&stored, "size", Value::int(2)),
            replace: vec![],
        },
        Row {
            name: "update: default back when the configured value is removed",
            prior: with(&stored, "mode", s("slow")),
            proposed: with(&stored, "mode", Value::Null),
            config: obj(&[("name", s("a")), ("size", Value::int(1))]),
            planned: stored.clone(),
            replace: vec![],
        },
        Row {
            name: "update: force_new attribute changed requires replace",
            prior: stored.clone(),
            proposed: with(&stored, "name", s("b")),
            config: obj(&[("name", s("b")), ("size", Value::int(1))]),
            planned: with(&stored, "name", s("b")),
            replace: vec![AttrPath::attr("name")],
        },
        Row {
            name: "destroy: null proposal planned as null",
            prior: stored.clone(),
            proposed: Value::Null,
            config: Value::Null,
            planned: Value::Null,
            replace: vec![],
        },
    ];
    for r in rows {
        let mut diags = Diagnostics::new();
        let plan = rules::plan(&res, &ctx, &r.prior, &r.proposed, &r.config, &mut diags);
        assert!(diags.0.is_empty(), "{}", r.name);
        assert_eq!(plan.planned, r.planned, "{}", r.name);
        assert_eq!(plan.requires_replace, r.replace, "{}", r.name);
    }
    // The resource's own planning runs after the rules, except for a destroy.
    assert_eq!(res.calls(), ["modify_plan"; 5]);
}

#[tokio::test]
async fn apply_dispatch() {
    let stored = obj(&[
        ("id", s("t-1")),
        ("name", s("a")),
        ("mode", s("fast")),
        ("note", s("n")),
    ]);
    let planned_create = obj(&[
        ("id", Value::unknown()),
        ("name", s("a")),
        ("mode", s("fast")),
        ("note", Value::unknown()),
    ]);
    let planned_update = obj(&[
        ("id", s("t-1")),
        ("name", s("a")),
        ("mode", s("slow")),
        ("note", s("n")),
    ]);
    let fail = |summary: &'static str| -> Op {
        Box::new(move |_, _, d: &mut Diagnostics| {
            d.error(summary, "");
            None
        })
    };
    struct Row {
        name: &'static str,
        res: FakeResource,
        prior: Value,
        planned: Value,
        calls: &'static [&'static str],
        state: Value,
        errors: &'static [&'static str],
    }
    let rows = [
        Row {
            name: "null prior: create",
            res: FakeResource::new(),
            prior: Value::Null,
            planned: planned_create.clone(),
            calls: &["create"],
            state: known(&planned_create),
            errors: &[],
        },
        Row {
            name: "both set: update",
            res: FakeResource::new(),
            prior: stored.clone(),
            planned: planned_update.clone(),
            calls: &["update"],
            state: planned_update.clone(),
            errors: &[],
        },
        Row {
            name: "null plan: delete",
            res: FakeResource::new(),
            prior: stored.clone(),
            planned: Value::Null,
            calls: &["delete"],
            state: Value::Null,
            errors: &[],
        },
        Row {
            name: "failed delete keeps prior",
            res: FakeResource {
                delete_fails: Some("Delete failed"),
                ..FakeResource::new()
            },
            prior: stored.clone(),
            planned: Value::Null,
            calls: &["delete"],
            state: stored.clone(),
            errors: &["Delete failed"],
        },
        Row {
            name: "failed create without state: nothing recorded",
            res: FakeResource {
                create: fail("Create failed"),
                ..FakeResource::new()
            },
            prior: Value::Null,
            planned: planned_create.clone(),
            calls: &["create"],
            state: Value::Null,
            errors: &["Create failed"],
        },
        Row {
            name: "failed update without state: prior kept",
            res: FakeResource {
                update: fail("Update failed"),
                ..FakeResource::new()
            },
            prior: stored.clone(),
            planned: planned_update.clone(),
            calls: &["update"],
            state: stored.clone(),
            errors: &["Update failed"],
        },
        Row {
            name: "create leaving unknowns: provider bug, no unknown state",
            res: FakeResource {
                create: Box::new(|_, planned, _| Some(planned.clone())),
                ..FakeResource::new()
            },
            prior: Value::Null,
            planned: planned_create.clone(),
            calls: &["create"],
            state: Value::Null,
            errors: &["Provider bug: unknown value after apply"],
        },
        Row {
            name: "update leaving unknowns: provider bug, prior kept",
            res: FakeResource {
                update: returns(Some(obj(&[("id", Value::unknown())]))),
                ..FakeResource::new()
            },
            prior: stored.clone(),
            planned: planned_update.clone(),
            calls: &["update"],
            state: stored.clone(),
            errors: &["Provider bug: unknown value after apply"],
        },
    ];
    for r in rows {
        let mut diags = Diagnostics::new();
        let got = rules::apply(&r.res, &Ctx::default(), &r.prior, &r.planned, &mut diags).await;
        assert_eq!(r.res.calls(), r.calls, "{}", r.name);
        assert_eq!(got, r.state, "{}", r.name);
        assert!(got.is_wholly_known(), "{}", r.name);
        assert_eq!(errors(&diags), r.errors, "{}", r.name);
    }
}

#[tokio::test]
async fn read_rules() {
    let current = obj(&[("id", s("t-1")), ("name", s("a"))]);
    let newer = obj(&[("id", s("t-1")), ("name", s("a")), ("note", s("changed"))]);
    let failing: Op = Box::new(|_, _, d: &mut Diagnostics| {
        d.error("Read failed", "");
        None
    });
    #[rustfmt::skip]
    let rows = [
        ("found: the new value", returns(Some(newer.clone())), newer.clone(), false),
        ("clean None: dropped", returns(None), Value::Null, false),
        ("error: current kept", failing, current.clone(), true),
    ];
    for (name, read, expect, error) in rows {
        let res = FakeResource {
            read,
            ..FakeResource::new()
        };
        let mut diags = Diagnostics::new();
        let got = rules::read(&res, &Ctx::default(), &current, &mut diags).await;
        assert_eq!(got, expect, "{name}");
        assert_eq!(diags.has_errors(), error, "{name}");
    }
    // Nothing to read: the resource is not asked.
    let res = FakeResource::new();
    let got = rules::read(&res, &Ctx::default(), &Value::Null, &mut Diagnostics::new()).await;
    assert_eq!(got, Value::Null);
    assert!(res.calls().is_empty());
}

#[test]
fn upgrade_rules() {
    let res = FakeResource::new();
    let json = br#"{"id":"t-1","name":"a","size":3,"mode":"fast","note":null,"timeouts":null}"#;
    let mut diags = Diagnostics::new();
    let got = rules::upgrade(&res, 1, json, &mut diags).expect("current version");
    assert_eq!(got.get("size"), Some(&Value::int(3)));
    assert!(diags.0.is_empty());
    // Written by an older version: decoded with the current type, missing attributes null.
    let got = rules::upgrade(&res, 0, br#"{"id":"t-1","name":"a"}"#, &mut diags).expect("older");
    assert_eq!(got.get("mode"), Some(&Value::Null));
    assert!(diags.0.is_empty(), "{diags:?}");

    let got = rules::upgrade(&res, 2, json, &mut diags);
    assert!(got.is_none());
    assert_eq!(errors(&diags), ["State written by a newer provider"]);
    assert!(diags.0[0].detail.contains("version 2"));

    let mut diags = Diagnostics::new();
    assert!(rules::upgrade(&res, 1, b"{not json", &mut diags).is_none());
    assert_eq!(errors(&diags), ["Could not read the stored state"]);
}

#[test]
fn timeouts_are_validated_with_their_path() {
    let res = FakeResource::new();
    let timeouts = |create: &str| {
        Value::Object(
            [("create", s(create)), ("delete", Value::Null)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    };
    #[rustfmt::skip]
    let rows = [
        ("valid Go duration", timeouts("1h30m"), "a", vec![]),
        ("invalid duration", timeouts("ten minutes"), "a", vec![("Invalid timeout duration", "timeouts.create")]),
        ("unit missing", timeouts("10"), "a", vec![("Invalid timeout duration", "timeouts.create")]),
        ("unknown timeout: not an error", Value::Object([("create".to_owned(), Value::unknown()), ("delete".to_owned(), Value::Null)].into()), "a", vec![]),
        ("no timeouts block", Value::Null, "a", vec![]),
        ("the resource's own checks too", timeouts("5m"), "bad", vec![("Bad name", "name")]),
    ];
    for (name, t, res_name, expect) in rows {
        let config = obj(&[("name", s(res_name)), ("timeouts", t)]);
        let mut diags = Diagnostics::new();
        rules::validate(&res, &config, &mut diags);
        let got: Vec<(String, String)> = diags
            .iter()
            .map(|d| {
                (
                    d.summary.clone(),
                    d.path.as_ref().map(ToString::to_string).unwrap_or_default(),
                )
            })
            .collect();
        let expect: Vec<(String, String)> = expect
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, expect, "{name}");
    }
    // The timeout an operation gets: configured, else the default.
    let default = std::time::Duration::from_secs(60);
    let config = obj(&[("timeouts", timeouts("90s"))]);
    assert_eq!(rules::timeout(&config, "create", default).as_secs(), 90);
    assert_eq!(rules::timeout(&config, "delete", default), default);
}

/// A data source whose read is a closure.
struct FakeDataSource {
    schema: Schema,
    read: Op,
}

#[async_trait]
impl DataSource for FakeDataSource {
    fn type_name(&self) -> &'static str {
        "fake_things"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    async fn read(&self, ctx: &Ctx, config: &Value, diags: &mut Diagnostics) -> Option<Value> {
        (self.read)(ctx, config, diags)
    }
}

#[tokio::test]
async fn data_source_read_rules() {
    let config = obj(&[("name", s("a")), ("note", Value::Null)]);
    let full = obj(&[("name", s("a")), ("note", s("n"))]);
    let failing: Op = Box::new(|_, _, d: &mut Diagnostics| {
        d.error("List failed", "");
        None
    });
    #[rustfmt::skip]
    let rows = [
        ("wholly known result", returns(Some(full.clone())), full.clone(), vec!["" ; 0]),
        ("unknown left: provider bug", returns(Some(obj(&[("note", Value::unknown())]))), Value::Null, vec!["Provider bug: unknown value after read"]),
        ("no result, no error: provider bug", returns(None), Value::Null, vec!["Provider bug: no result"]),
        ("its own error only", failing, Value::Null, vec!["List failed"]),
    ];
    for (name, read, expect, errs) in rows {
        let ds = FakeDataSource {
            schema: schema(),
            read,
        };
        let mut diags = Diagnostics::new();
        let got = rules::read_data_source(&ds, &Ctx::default(), &config, &mut diags).await;
        assert_eq!(got, expect, "{name}");
        assert_eq!(errors(&diags), errs, "{name}");
    }
}

// Engine dispatch: factories are plain functions, so these fakes report what their call
// context held through their return values.

/// `read` returns what its context held; with `wait` in the state it first waits for Stop.
fn probe() -> Arc<dyn Resource> {
    Arc::new(FakeResource {
        read: Box::new(|ctx, current, _| {
            Some(obj(&[
                ("id", current.get("id").cloned().unwrap_or(Value::Null)),
                (
                    "name",
                    Value::Bool(ctx.data::<&'static str>().is_some()).into_string(),
                ),
                ("note", Value::Bool(ctx.cancel.is_cancelled()).into_string()),
            ]))
        }),
        ..FakeResource::new()
    })
}

/// Waits for Stop in `import`: proves in-flight operations see the cancellation.
struct Waiter(Schema);

#[async_trait]
impl Resource for Waiter {
    fn type_name(&self) -> &'static str {
        "fake_waiter"
    }
    fn schema(&self) -> &Schema {
        &self.0
    }
    async fn create(&self, _: &Ctx, _: &Value, _: &mut Diagnostics) -> Option<Value> {
        None
    }
    async fn update(&self, _: &Ctx, _: &Value, _: &Value, _: &mut Diagnostics) -> Option<Value> {
        None
    }
    async fn delete(&self, _: &Ctx, _: &Value, _: &mut Diagnostics) {}
    async fn read(&self, _: &Ctx, _: &Value, _: &mut Diagnostics) -> Option<Value> {
        None
    }
    async fn import(&self, ctx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        ctx.cancel.cancelled().await;
        diags.error("Stopped", id);
        None
    }
}

fn waiter() -> Arc<dyn Resource> {
    Arc::new(Waiter(schema()))
}

fn things() -> Arc<dyn DataSource> {
    Arc::new(FakeDataSource {
        schema: schema(),
        read: Box::new(|ctx, config, _| {
            let mut v = config.clone();
            *v.get_mut("note")? = Value::Bool(ctx.data::<&'static str>().is_some()).into_string();
            Some(v)
        }),
    })
}

trait IntoString {
    fn into_string(self) -> Value;
}

impl IntoString for Value {
    /// `true` / `false` as a string value, so a fake can report a flag in a string attribute.
    fn into_string(self) -> Value {
        Value::string(self.as_bool().map_or("?".to_owned(), |b| b.to_string()))
    }
}

struct FakeProvider {
    schema: Schema,
    /// Whether `configure` hands data down.
    gives_data: bool,
    /// Registers `probe` twice (a provider bug `Engine::new` must refuse).
    twin_resources: bool,
    /// Registers `things` twice.
    twin_data_sources: bool,
}

#[async_trait]
impl Provider for FakeProvider {
    fn schema(&self) -> &Schema {
        &self.schema
    }
    async fn configure(&self, _: &Value, _: &str, _: &mut Diagnostics) -> Option<ProviderData> {
        self.gives_data
            .then(|| Arc::new("configured") as ProviderData)
    }
    fn resources(&self) -> Vec<ResourceFactory> {
        if self.twin_resources {
            vec![probe, waiter, probe]
        } else {
            vec![probe, waiter]
        }
    }
    fn data_sources(&self) -> Vec<DataSourceFactory> {
        if self.twin_data_sources {
            vec![things, things]
        } else {
            vec![things]
        }
    }
}

fn fake_provider(gives_data: bool) -> FakeProvider {
    FakeProvider {
        schema: Schema {
            version: 0,
            block: Block::default(),
        },
        gives_data,
        twin_resources: false,
        twin_data_sources: false,
    }
}

fn engine(gives_data: bool) -> Engine {
    Engine::new(Arc::new(fake_provider(gives_data))).unwrap()
}

#[test]
fn two_resources_or_data_sources_with_one_type_name_are_refused() {
    let twins = FakeProvider {
        twin_resources: true,
        ..fake_provider(true)
    };
    match Engine::new(Arc::new(twins)) {
        Err(e @ EngineError::DuplicateResource("fake_thing")) => {
            assert_eq!(
                e.to_string(),
                "two resources have the type name \"fake_thing\""
            )
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("two resources named fake_thing were accepted"),
    }
    let twins = FakeProvider {
        twin_data_sources: true,
        ..fake_provider(true)
    };
    match Engine::new(Arc::new(twins)) {
        Err(EngineError::DuplicateDataSource("fake_things")) => {}
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("two data sources named fake_things were accepted"),
    }
    // The provider that ships registers each name once.
    assert!(Engine::new(Arc::new(crate::provider::AlicloudProvider::new())).is_ok());
}

#[tokio::test]
async fn engine_dispatches_by_type_name() {
    let e = engine(true);
    let names: Vec<&str> = e.resource_schemas().map(|(n, _)| n).collect();
    assert_eq!(names, ["fake_thing", "fake_waiter"]);
    assert_eq!(
        e.data_source_schemas().map(|(n, _)| n).collect::<Vec<_>>(),
        ["fake_things"]
    );

    let some = obj(&[("id", s("t-1"))]);
    let mut d = Diagnostics::new();
    assert!(e.resource_schema("nope", &mut d).is_none());
    e.validate_resource("nope", &some, &mut d);
    assert!(
        e.plan_resource("nope", &Value::Null, &some, &some, &mut d)
            .is_none()
    );
    assert!(
        e.apply_resource("nope", &Value::Null, &some, &mut d)
            .await
            .is_none()
    );
    assert!(e.read_resource("nope", &some, &mut d).await.is_none());
    assert!(e.import_resource("nope", "x", &mut d).await.is_none());
    assert!(e.upgrade_resource("nope", 0, b"{}", &mut d).is_none());
    assert_eq!(errors(&d), ["Unknown resource type"; 7]);
    assert!(d.0.iter().all(|x| x.detail.contains("\"nope\"")));

    let mut d = Diagnostics::new();
    assert!(e.data_source_schema("nope", &mut d).is_none());
    e.validate_data_source("nope", &some, &mut d);
    assert!(e.read_data_source("nope", &some, &mut d).await.is_none());
    assert_eq!(errors(&d), ["Unknown data source"; 3]);

    let mut d = Diagnostics::new();
    let got = e
        .import_resource("fake_thing", "t-9", &mut d)
        .await
        .unwrap();
    assert_eq!(got.get("id"), Some(&s("t-9")));
    assert!(d.0.is_empty());
}

#[tokio::test]
async fn provider_data_reaches_calls_only_after_configure_returns_it() {
    let current = obj(&[("id", s("t-1"))]);
    let has_data = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_owned);
    for gives_data in [true, false] {
        let e = engine(gives_data);
        let mut d = Diagnostics::new();
        let before = e
            .read_resource("fake_thing", &current, &mut d)
            .await
            .unwrap();
        assert_eq!(has_data(&before).as_deref(), Some("false"));
        e.configure(&Value::Null, "1.9.0", &mut d).await;
        let after = e
            .read_resource("fake_thing", &current, &mut d)
            .await
            .unwrap();
        let expect = if gives_data { "true" } else { "false" };
        assert_eq!(
            has_data(&after).as_deref(),
            Some(expect),
            "gives data: {gives_data}"
        );
        let ds = e
            .read_data_source("fake_things", &obj(&[("name", s("a"))]), &mut d)
            .await
            .unwrap();
        assert_eq!(ds.get("note").and_then(Value::as_str), Some(expect));
        assert!(d.0.is_empty(), "{d:?}");
    }
}

#[tokio::test]
async fn stop_cancels_calls_in_flight_and_later() {
    let e = Arc::new(engine(true));
    let in_flight = {
        let e = e.clone();
        tokio::spawn(async move {
            let mut d = Diagnostics::new();
            let got = e.import_resource("fake_waiter", "w-1", &mut d).await;
            (got, d)
        })
    };
    tokio::task::yield_now().await;
    assert!(!in_flight.is_finished());
    let current = obj(&[("id", s("t-1"))]);
    let mut d = Diagnostics::new();
    let before = e
        .read_resource("fake_thing", &current, &mut d)
        .await
        .unwrap();
    assert_eq!(before.get("note").and_then(Value::as_str), Some("false"));

    e.stop();
    let (got, d) = tokio::time::timeout(std::time::Duration::from_secs(5), in_flight)
        .await
        .expect("the in-flight call ends at Stop")
        .unwrap();
    assert!(got.is_none());
    assert_eq!(errors(&d), ["Stopped"]);
    let mut d = Diagnostics::new();
    let after = e
        .read_resource("fake_thing", &current, &mut d)
        .await
        .unwrap();
    assert_eq!(after.get("note").and_then(Value::as_str), Some("true"));
}
