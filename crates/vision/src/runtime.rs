//! The one inference runtime: tract, running the ONNX graphs the `models` crate imports.
//!
//! tract runs a graph much faster when every dimension is known when it is optimised: it
//! then picks convolution kernels and memory layouts for the exact sizes (the MMOD
//! detector ran about 6× slower with a symbolic height and width). So a [`Network`] keeps
//! its graph decluttered but with symbolic input dimensions, and optimises one plan per
//! concrete input shape on first use, keeping the most recently used few. Plans are shared
//! by reference between threads; every call spawns its own light execution state, so
//! concurrent calls need no lock beyond the short one around the plan cache.
//!
//! With the `multithread` feature (tract's `multithread-mm`) one pass can use several
//! cores ([`Threads`]): its matrix products and large element-wise kernels are split
//! over a thread pool of the engine's own. Every split lands on whole output panels or
//! rows, so the results are the same bytes at any thread count. `bench/runtime`
//! measures the gain for one image, and ONNX Runtime on the same graphs
//! (docs/performance.md, "Runtime").
//!
//! With the `onnxruntime` feature, ONNX Runtime can run the graphs instead: once
//! [`use_onnxruntime`] has loaded its shared library (the one the PyPI `onnxruntime`
//! wheel ships; dlopen, nothing linked at build time), every network loaded afterwards
//! runs in an ONNX Runtime session, and tract only where ONNX Runtime refuses a graph
//! ([`onnxruntime_fallbacks`] says which and why).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::prelude::*;

use crate::error::{Result, VisionError};

type Plan = Arc<TypedRunnableModel>;

/// One output of a pass: its shape and its values.
type Output = (Vec<usize>, Vec<f32>);

/// How many threads one network pass may use: one (the default, tract's single-thread
/// executor) or, in a build with the `multithread` feature (tract's `multithread-mm`),
/// a pool of its own, made once and shared by the networks given it. Concurrent calls
/// share the pool, so on a busy server more threads per pass add contention rather
/// than throughput; they pay only when a few calls meet idle cores.
#[derive(Clone, Debug, Default)]
pub struct Threads {
    executor: Executor,
    count: usize,
}

impl Threads {
    /// Passes run on `count` threads: 1 runs them on the calling thread, more on a new
    /// pool of that many threads (named `renlian-infer-N`). More than 1 is an error in
    /// a build without the `multithread` feature.
    pub fn new(count: usize) -> Result<Threads> {
        match count {
            0 => Err(VisionError::InvalidArgument(
                "inference threads must be at least 1".into(),
            )),
            1 => Ok(Threads::default()),
            n => Threads::pool(n),
        }
    }

    #[cfg(feature = "multithread")]
    fn pool(n: usize) -> Result<Threads> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("renlian-infer-{i}"))
            .build()
            .map_err(|e| VisionError::InvalidArgument(format!("a pool of {n} threads: {e}")))?;
        Ok(Threads {
            executor: Executor::MultiThread(Arc::new(pool)),
            count: n,
        })
    }

    #[cfg(not(feature = "multithread"))]
    fn pool(n: usize) -> Result<Threads> {
        Err(VisionError::InvalidArgument(format!(
            "{n} inference threads: this build runs one per pass (vision's `multithread` feature is off)"
        )))
    }

    /// The number of threads a pass may use.
    pub fn count(&self) -> usize {
        self.count.max(1)
    }
}

/// A network ready to run on inputs of the shapes its symbols allow.
#[derive(Clone)]
pub struct Network {
    name: &'static str,
    /// Fixed input sizes, checked before a pass on either runtime.
    fixed: Arc<[Option<usize>]>,
    threads: Threads,
    backend: Backend,
}

/// What runs the passes. Only one is built: a graph ONNX Runtime takes is never imported
/// into tract (that would hold its weights twice and spend tract's load time for nothing).
#[derive(Clone)]
enum Backend {
    Tract(Arc<TractGraph>),
    /// ONNX Runtime's sessions of this graph.
    #[cfg(feature = "onnxruntime")]
    OnnxRuntime(Arc<ort_backend::Sessions>),
}

/// A graph on tract: the template and the plans made from it, shared by every clone.
struct TractGraph {
    /// Decluttered, not yet optimised: the template every plan is made from.
    template: TypedModel,
    /// The symbolic input axes and their symbols.
    symbols: Vec<(usize, Symbol)>,
    plans: Mutex<PlanCache<Plan>>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Network");
        d.field("name", &self.name);
        match &self.backend {
            Backend::Tract(graph) => {
                d.field("cached_plans", &graph.plans().len());
            }
            #[cfg(feature = "onnxruntime")]
            Backend::OnnxRuntime(_) => {}
        }
        d.field("threads", &self.threads.count())
            .field("runtime", &self.runtime())
            .finish()
    }
}

/// One input dimension: fixed, or a named symbol resolved at every call.
#[derive(Clone, Copy, Debug)]
pub enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// A size given at run time.
    Symbol(&'static str),
}

impl Network {
    /// A TensorFlow.js graph model of the `human-models` pack (`file`, e.g.
    /// `facemesh.json`), converted to ONNX by the `tfjs` crate (or read from the store's
    /// cache of conversions, see [`tfjs_onnx`]), for one fixed NHWC input shape: the
    /// input size never changes, so one plan is all there will ever be.
    pub fn load_tfjs(
        store: &models::ModelStore,
        name: &'static str,
        file: &str,
        [batch, height, width, channels]: [usize; 4],
    ) -> Result<Network> {
        let onnx = tfjs_onnx(store, file).map_err(|e| VisionError::model(name, e))?;
        let input = [batch, height, width, channels].map(Dim::Fixed);
        Network::load(name, &onnx.bytes, &input, 1)
    }

    /// Loads an ONNX graph whose single input is f32 with the given shape. Up to
    /// `max_plans` optimised plans (one per distinct input shape) are kept; a graph
    /// without symbols has exactly one, made here.
    pub fn load(
        name: &'static str,
        onnx: &[u8],
        input: &[Dim],
        max_plans: usize,
    ) -> Result<Network> {
        let fixed = input
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => Some(*n),
                Dim::Symbol(_) => None,
            })
            .collect();
        #[cfg(feature = "onnxruntime")]
        if let Some(sessions) = ort_backend::Sessions::for_graph(name, onnx) {
            return Ok(Network {
                name,
                fixed,
                threads: Threads::default(),
                backend: Backend::OnnxRuntime(sessions),
            });
        }
        let graph = TractGraph::import(name, onnx, input, max_plans)?;
        Ok(Network {
            name,
            fixed,
            threads: Threads::default(),
            backend: Backend::Tract(Arc::new(graph)),
        })
    }

    /// The runtime this network's passes run on: "tract" or "onnxruntime".
    pub fn runtime(&self) -> &'static str {
        match &self.backend {
            Backend::Tract(_) => "tract",
            #[cfg(feature = "onnxruntime")]
            Backend::OnnxRuntime(_) => "onnxruntime",
        }
    }

    /// The same network (sharing its plans), its passes run on `threads`.
    pub fn with_threads(mut self, threads: &Threads) -> Network {
        self.threads = threads.clone();
        self
    }

    /// Runs the network on one input of `shape`, which `fill` writes (all of it, in
    /// row-major order), and returns the first output as f32.
    pub fn run(&self, shape: &[usize], fill: impl FnOnce(&mut [f32])) -> Result<Output> {
        self.run_all(shape, fill)?
            .into_iter()
            .next()
            .ok_or_else(|| VisionError::inference(self.name, "no output"))
    }

    /// Like [`Network::run`], but returns every output (shape and f32 values), in the
    /// graph's output order.
    pub fn run_all(&self, shape: &[usize], fill: impl FnOnce(&mut [f32])) -> Result<Vec<Output>> {
        crate::cancel::checkpoint()?;
        if shape.len() != self.fixed.len()
            || shape
                .iter()
                .zip(self.fixed.iter())
                .any(|(n, f)| f.is_some_and(|f| f != *n))
        {
            return Err(VisionError::inference(
                self.name,
                format!("input shape {shape:?}"),
            ));
        }
        match &self.backend {
            Backend::Tract(graph) => graph.run(self.name, &self.threads, shape, fill),
            #[cfg(feature = "onnxruntime")]
            Backend::OnnxRuntime(sessions) => sessions
                .run(shape, self.threads.count(), fill)
                .map_err(|e| VisionError::inference(self.name, e)),
        }
    }
}

impl TractGraph {
    /// Imports and declutters `onnx` with its input of `input`'s shape; a graph without
    /// symbols gets its one plan here.
    fn import(name: &'static str, onnx: &[u8], input: &[Dim], max_plans: usize) -> Result<Self> {
        let err = |e: TractError| VisionError::model(name, format!("{e:#}"));
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut &onnx[..])
            .map_err(err)?;
        let mut symbols = Vec::new();
        let shape: TVec<TDim> = input
            .iter()
            .enumerate()
            .map(|(axis, d)| match d {
                Dim::Fixed(n) => TDim::from(*n as i64),
                Dim::Symbol(s) => {
                    let sym = model.symbols.sym(s);
                    symbols.push((axis, sym.clone()));
                    sym.into()
                }
            })
            .collect();
        model = model
            .with_input_fact(0, f32::fact(shape).into())
            .map_err(err)?;
        let template = model
            .into_typed()
            .and_then(|m| m.into_decluttered())
            .map_err(err)?;
        let graph = TractGraph {
            template,
            symbols,
            plans: Mutex::new(PlanCache::new(max_plans.max(1))),
        };
        if graph.symbols.is_empty() {
            graph.plan(name, &[])?;
        }
        Ok(graph)
    }

    /// One pass on tract (see [`Network::run_all`]; the shape is checked).
    fn run(
        &self,
        name: &'static str,
        threads: &Threads,
        shape: &[usize],
        fill: impl FnOnce(&mut [f32]),
    ) -> Result<Vec<Output>> {
        let fail = |e: TractError| VisionError::inference(name, format!("{e:#}"));
        let key: Vec<usize> = self.symbols.iter().map(|(axis, _)| shape[*axis]).collect();
        let plan = self.plan(name, &key)?;
        // The input is written in place: a canvas is megabytes, not worth a copy.
        let mut input = Tensor::zero::<f32>(shape).map_err(fail)?;
        {
            let mut view = input.try_as_plain_ram_mut().map_err(fail)?;
            fill(view.as_slice_mut::<f32>().map_err(fail)?);
        }
        let outputs =
            multithread_tract_scope(threads.executor.clone(), || plan.run(tvec!(input.into())))
                .map_err(fail)?;
        outputs
            .into_iter()
            .map(|out| {
                let shape = out.shape().to_vec();
                let plain = out.try_as_plain_ram().map_err(fail)?;
                let values = plain.as_slice::<f32>().map_err(fail)?.to_vec();
                Ok((shape, values))
            })
            .collect()
    }

    /// The plan for inputs whose symbolic axes have these sizes: cached, or optimised now.
    fn plan(&self, name: &'static str, key: &[usize]) -> Result<Plan> {
        if let Some(plan) = self.plans().get(key) {
            return Ok(plan);
        }
        // Optimised outside the lock: two threads meeting a new shape at once both
        // optimise it (the same result), but no caller waits on another's shape.
        let subs: HashMap<Symbol, TDim> = self
            .symbols
            .iter()
            .zip(key)
            .map(|((_, sym), &n)| (sym.clone(), TDim::from(n as i64)))
            .collect();
        let plan = self
            .template
            .set_symbols(&subs)
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| VisionError::model(name, format!("{e:#}")))?;
        self.plans().insert(key.to_vec(), plan.clone());
        Ok(plan)
    }

    fn plans(&self) -> std::sync::MutexGuard<'_, PlanCache<Plan>> {
        // The cache holds no invariant a panicking thread could break half-way.
        self.plans.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Loads ONNX Runtime's shared library (`libonnxruntime.so`, as the PyPI `onnxruntime`
/// wheel ships it under `onnxruntime/capi/`) for this process: every [`Network`] loaded
/// afterwards runs in ONNX Runtime. Load it before the engine. A second call with the
/// same library does nothing; the process keeps the first library it loaded.
#[cfg(feature = "onnxruntime")]
pub fn use_onnxruntime(library: &std::path::Path) -> Result<()> {
    ort_backend::load(library).map_err(|e| VisionError::model("onnxruntime", e))
}

/// Whether [`use_onnxruntime`] has loaded ONNX Runtime in this process.
pub fn onnxruntime_loaded() -> bool {
    #[cfg(feature = "onnxruntime")]
    if ort_backend::environment().is_some() {
        return true;
    }
    false
}

/// The graphs ONNX Runtime refused since it was loaded (they run in tract), with why.
pub fn onnxruntime_fallbacks() -> Vec<(&'static str, String)> {
    #[cfg(feature = "onnxruntime")]
    {
        ort_backend::fallbacks()
    }
    #[cfg(not(feature = "onnxruntime"))]
    Vec::new()
}

/// ONNX Runtime through the `ort` crate. Written here rather than behind a trait shared
/// with tract: the two differ only in these few calls, and `Network` stays one type.
#[cfg(feature = "onnxruntime")]
mod ort_backend {
    use std::sync::{Arc, Mutex, OnceLock, PoisonError};

    use ort::session::builder::GraphOptimizationLevel;
    use ort::session::Session;
    use ort::value::Tensor;

    static ENVIRONMENT: OnceLock<ort::environment::Environment> = OnceLock::new();
    static FALLBACKS: Mutex<Vec<(&'static str, String)>> = Mutex::new(Vec::new());

    pub fn load(library: &std::path::Path) -> Result<(), String> {
        if ENVIRONMENT.get().is_some() {
            return Ok(());
        }
        let env = ort::init_from(library)
            .map_err(|e| e.to_string())?
            .with_name("renlian")
            .build()
            .map_err(|e| e.to_string())?;
        let _ = ENVIRONMENT.set(env);
        Ok(())
    }

    pub fn environment() -> Option<&'static ort::environment::Environment> {
        ENVIRONMENT.get()
    }

    pub fn fallbacks() -> Vec<(&'static str, String)> {
        FALLBACKS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Idle sessions of one graph, each with the intra-op thread count it was made with.
    /// `Session::run` takes `&mut self`, so concurrent passes each take a session of
    /// their own: the pool grows to the number of passes that ever ran at once.
    pub struct Sessions {
        onnx: Arc<[u8]>,
        idle: Mutex<Vec<(usize, Session)>>,
    }

    impl Sessions {
        /// The sessions of `onnx` when ONNX Runtime is loaded and accepts the graph
        /// (one session is made here to find out); else `None`, the refusal recorded.
        pub fn for_graph(name: &'static str, onnx: &[u8]) -> Option<Arc<Sessions>> {
            environment()?;
            let sessions = Sessions {
                onnx: onnx.into(),
                idle: Mutex::new(Vec::new()),
            };
            match sessions.session(1) {
                Ok(first) => {
                    sessions.give_back(1, first);
                    Some(Arc::new(sessions))
                }
                Err(e) => {
                    FALLBACKS
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push((name, e));
                    None
                }
            }
        }

        fn session(&self, threads: usize) -> Result<Session, String> {
            let env = environment().ok_or("ONNX Runtime is not loaded")?;
            let err = |e: ort::Error<ort::session::builder::SessionBuilder>| e.to_string();
            // As tract runs: `threads` for one pass, no second level of parallelism,
            // no busy-waiting threads taking cores from other requests.
            Session::builder(env)
                .map_err(|e| e.to_string())?
                .with_optimization_level(GraphOptimizationLevel::All)
                .map_err(err)?
                .with_intra_threads(threads)
                .map_err(err)?
                .with_inter_threads(1)
                .map_err(err)?
                .with_intra_op_spinning(false)
                .map_err(err)?
                .with_inter_op_spinning(false)
                .map_err(err)?
                .commit_from_memory(&self.onnx)
                .map_err(|e| e.to_string())
        }

        fn give_back(&self, threads: usize, session: Session) {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((threads, session));
        }

        /// One pass: the input of `shape` written by `fill`, every output as f32.
        pub fn run(
            &self,
            shape: &[usize],
            threads: usize,
            fill: impl FnOnce(&mut [f32]),
        ) -> Result<Vec<super::Output>, String> {
            let mut data = vec![0f32; shape.iter().product()];
            fill(&mut data);
            let input = Tensor::from_array((shape.to_vec(), data)).map_err(|e| e.to_string())?;
            let idle = {
                let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
                idle.iter()
                    .position(|(t, _)| *t == threads)
                    .map(|i| idle.swap_remove(i).1)
            };
            let mut session = match idle {
                Some(s) => s,
                None => self.session(threads)?,
            };
            let outputs = {
                let result = session
                    .run(ort::inputs![input])
                    .map_err(|e| e.to_string())?;
                result
                    .values()
                    .map(|v| {
                        let (shape, values) =
                            v.try_extract_tensor::<f32>().map_err(|e| e.to_string())?;
                        let shape = shape.iter().map(|&d| d.max(0) as usize).collect();
                        Ok((shape, values.to_vec()))
                    })
                    .collect::<Result<Vec<_>, String>>()
            };
            self.give_back(threads, session);
            outputs
        }
    }
}

/// The ONNX of the `human-models` graph `file` (`facemesh.json`): from the store's
/// cache of conversions when an intact entry exists for these exact files and
/// [`tfjs::CONVERTER_VERSION`], else converted by [`tfjs::to_onnx`] and cached
/// (`ModelStore::converted_onnx`; the pack is fetched first if needed). From a directory
/// exported for a device (`ModelStore::offline`): the exported conversion, hash-checked.
pub fn tfjs_onnx(
    store: &models::ModelStore,
    file: &str,
) -> std::result::Result<models::CachedOnnx, models::ModelError> {
    store.graph_onnx(file, &tfjs_converter())
}

/// The `tfjs` crate's converter as the `models` crate takes it (for
/// `ModelStore::graph_onnx` and `ModelStore::export`).
pub fn tfjs_converter() -> models::GraphConverter {
    models::GraphConverter {
        tag: format!("tfjs-c{}", tfjs::CONVERTER_VERSION),
        sources: |path| tfjs::GraphModel::source_files(path).map_err(|e| e.to_string()),
        convert: |path| {
            let graph = tfjs::GraphModel::load(path).map_err(|e| e.to_string())?;
            tfjs::to_onnx(&graph).map_err(|e| e.to_string())
        },
    }
}

/// The most recently used plans, oldest first; a handful at most, so a list will do.
struct PlanCache<P> {
    capacity: usize,
    entries: Vec<(Vec<usize>, P)>,
}

impl<P: Clone> PlanCache<P> {
    fn new(capacity: usize) -> Self {
        PlanCache {
            capacity,
            entries: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn get(&mut self, key: &[usize]) -> Option<P> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        let entry = self.entries.remove(i);
        let plan = entry.1.clone();
        self.entries.push(entry);
        Some(plan)
    }

    fn insert(&mut self, key: Vec<usize>, plan: P) {
        self.entries.retain(|(k, _)| *k != key);
        if self.entries.len() == self.capacity {
            self.entries.remove(0);
        }
        self.entries.push((key, plan));
    }
}

#[cfg(test)]
mod tests {
    use super::PlanCache;

    #[test]
    fn plan_cache_evicts_the_least_recently_used() {
        let mut cache = PlanCache::new(2);
        cache.insert(vec![1, 1], "a");
        cache.insert(vec![2, 2], "b");
        // Using "a" makes "b" the oldest, so "c" pushes "b" out.
        assert_eq!(cache.get(&[1, 1]), Some("a"));
        cache.insert(vec![3, 3], "c");
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&[2, 2]), None);
        assert_eq!(cache.get(&[1, 1]), Some("a"));
        assert_eq!(cache.get(&[3, 3]), Some("c"));
        // Inserting a key again replaces it instead of growing the cache.
        cache.insert(vec![3, 3], "d");
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&[3, 3]), Some("d"));
    }
}
