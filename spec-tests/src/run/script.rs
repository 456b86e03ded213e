//! The directives of a file on an executing tier, run against its
//! [`Executor`] in order.
//!
//! The rules, per directive:
//! - `module`: the module must compile and instantiate; it becomes the
//!   current module, and `$M` names it. `module definition` compiles only;
//!   `module instance $I $M` instantiates a definition.
//! - `register "name" $M`: `$M`'s exports become importable as `"name"`.
//! - `invoke`: the call must return (any results).
//! - `assert_return`: the call (or `get` of a global) must return exactly the
//!   expected values: integers and floats by bits, except the `nan:canonical`
//!   and `nan:arithmetic` patterns; references by nullness and hierarchy
//!   (`ref.null nofunc` is a null funcref, `ref.null exn` a null exnref),
//!   `ref.func` as any non-null funcref, externrefs by their payload;
//!   `either` takes any of its alternatives. Arguments are made the same
//!   way: `ref.null $t` of a concrete type is a null funcref, which the API
//!   lets stand for any nullable function type.
//! - `assert_trap`: the call, or the instantiation of the module it carries,
//!   must trap with a message matching the spec's ([`trap_matches`]).
//! - `assert_exception`: the call, or the instantiation of the module it
//!   carries, must end with a WebAssembly exception that no handler caught
//!   (any tag, any payload: the text format cannot say which).
//! - `assert_exhaustion`: the call must end in `call stack exhausted`.
//! - `assert_unlinkable`: the module must compile and fail to link (a
//!   missing import, or one of another type: a tag's too).
//! - `assert_malformed` and `assert_invalid`: as on every tier.
//! - Anything else (threads, stack switching, custom-section assertions,
//!   components): failed, since nothing was checked and these suites hold
//!   none.
//!
//! Skips are decided here and only here: a directive is skipped when the
//! executor says the tier cannot run something ([`ExecError::Unsupported`],
//! today SIMD), when it uses a module that was skipped for that reason, or
//! when its call passes or expects `v128` values. Everything else ends passed
//! or failed; a directive that uses a module which failed fails too.

use std::collections::HashMap;

use wast::token::Id;
use wast::{QuoteWat, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

use super::values;
use super::{Runner, directive_name, is_component};
use crate::exec::{ExecError, Executor, InstanceId, ModuleId, Value};
use crate::report::{FileReport, Outcome, trap_matches};

/// What a name (or the current module) stands for.
#[derive(Debug, Clone)]
enum Slot<T> {
    /// Compiled or instantiated.
    Ready(T),
    /// The tier could not run the module (why): whatever uses it is skipped.
    Unsupported(String),
    /// The module failed (that directive already failed): whatever uses it
    /// fails too.
    Broken,
}

/// One file's execution state on an executing tier.
pub(super) struct Script {
    executor: Box<dyn Executor>,
    /// The most recent module instantiated by `module` or `module instance`:
    /// what unnamed `invoke`, `get` and `register` refer to.
    current: Option<Slot<InstanceId>>,
    /// Instances by `$name`.
    instances: HashMap<String, Slot<InstanceId>>,
    /// `module definition`s by `$name`.
    definitions: HashMap<String, Slot<ModuleId>>,
    /// The most recent `module definition`, for `module instance` without a
    /// module name.
    last_definition: Option<Slot<ModuleId>>,
}

/// `Ok` and `Err` both carry the outcome; `Err` is the early exit of `?`.
fn settle(r: Result<Outcome, Outcome>) -> Outcome {
    match r {
        Ok(o) | Err(o) => o,
    }
}

/// The outcome of an error where none was expected: skipped when the tier
/// cannot run something, failed otherwise.
fn unexpected(what: &str, e: &ExecError) -> Outcome {
    match e {
        ExecError::Unsupported(_) => Outcome::Skipped,
        _ => Outcome::Failed(format!("{what}: {e}")),
    }
}

impl Script {
    pub(super) fn new(executor: Box<dyn Executor>) -> Script {
        Script {
            executor,
            current: None,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
        }
    }

    /// Compiles and instantiates `bytes`.
    fn instantiate_bytes(&mut self, bytes: &[u8]) -> Result<InstanceId, ExecError> {
        let module = self.executor.compile(bytes)?;
        self.executor.instantiate(module)
    }

    /// Makes `slot` the current module and, with a name, a named one.
    fn bind(&mut self, name: Option<Id<'_>>, slot: Slot<InstanceId>) {
        if let Some(id) = name {
            self.instances.insert(id.name().to_string(), slot.clone());
        }
        self.current = Some(slot);
    }

    /// The instance `module` (or the current one) stands for, or the outcome
    /// of a directive that cannot use it.
    fn target(&self, module: Option<Id<'_>>) -> Result<InstanceId, Outcome> {
        let slot = match module {
            Some(id) => self.instances.get(id.name()),
            None => self.current.as_ref(),
        };
        match slot {
            Some(Slot::Ready(i)) => Ok(*i),
            Some(Slot::Unsupported(_)) => Err(Outcome::Skipped),
            Some(Slot::Broken) => Err(Outcome::Failed(
                "the module it uses did not instantiate".into(),
            )),
            None => Err(Outcome::Failed(match module {
                Some(id) => format!("no module named ${}", id.name()),
                None => "no module has been instantiated".into(),
            })),
        }
    }

    /// Runs `call`; the outer error is the outcome when the call cannot be
    /// made (skipped or failed), the inner result is the executor's.
    fn call(&mut self, call: &WastInvoke<'_>) -> Result<Result<Vec<Value>, ExecError>, Outcome> {
        let target = self.target(call.module)?;
        let args = values::args(&call.args).map_err(Outcome::Failed)?;
        Ok(self.executor.invoke(target, call.name, &args))
    }

    /// `module`: compile, instantiate, bind.
    fn module(&mut self, mut module: QuoteWat<'_>) -> Outcome {
        if is_component(&module) {
            return Outcome::Failed("components are not core WebAssembly".into());
        }
        let name = module.name();
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            Err(e) => {
                self.bind(name, Slot::Broken);
                return Outcome::Failed(format!("cannot encode the module: {e}"));
            }
        };
        let (slot, outcome) = match self.instantiate_bytes(&bytes) {
            Ok(i) => (Slot::Ready(i), Outcome::Passed),
            Err(ExecError::Unsupported(why)) => (Slot::Unsupported(why), Outcome::Skipped),
            Err(e) => (
                Slot::Broken,
                Outcome::Failed(format!("the module did not instantiate: {e}")),
            ),
        };
        self.bind(name, slot);
        outcome
    }

    /// `module definition`: compile only.
    fn define(&mut self, mut module: QuoteWat<'_>) -> Outcome {
        if is_component(&module) {
            return Outcome::Failed("components are not core WebAssembly".into());
        }
        let name = module.name();
        let (slot, outcome) = match module.encode() {
            Err(e) => (
                Slot::Broken,
                Outcome::Failed(format!("cannot encode the module: {e}")),
            ),
            Ok(bytes) => match self.executor.compile(&bytes) {
                Ok(m) => (Slot::Ready(m), Outcome::Passed),
                Err(ExecError::Unsupported(why)) => (Slot::Unsupported(why), Outcome::Skipped),
                Err(e) => (
                    Slot::Broken,
                    Outcome::Failed(format!("rejected a valid module: {e}")),
                ),
            },
        };
        if let Some(id) = name {
            self.definitions.insert(id.name().to_string(), slot.clone());
        }
        self.last_definition = Some(slot);
        outcome
    }

    /// `module instance $I $M`: instantiate a definition.
    fn instance(&mut self, instance: Option<Id<'_>>, module: Option<Id<'_>>) -> Outcome {
        let definition = match module {
            Some(id) => self.definitions.get(id.name()),
            None => self.last_definition.as_ref(),
        };
        let (slot, outcome) = match definition.cloned() {
            Some(Slot::Ready(m)) => match self.executor.instantiate(m) {
                Ok(i) => (Slot::Ready(i), Outcome::Passed),
                Err(ExecError::Unsupported(why)) => (Slot::Unsupported(why), Outcome::Skipped),
                Err(e) => (
                    Slot::Broken,
                    Outcome::Failed(format!("the module did not instantiate: {e}")),
                ),
            },
            Some(Slot::Unsupported(why)) => (Slot::Unsupported(why), Outcome::Skipped),
            Some(Slot::Broken) => (
                Slot::Broken,
                Outcome::Failed("its module definition failed".into()),
            ),
            None => (
                Slot::Broken,
                Outcome::Failed("no such module definition".into()),
            ),
        };
        self.bind(instance, slot);
        outcome
    }

    /// `register "name" $M`.
    fn register(&mut self, name: &str, module: Option<Id<'_>>) -> Outcome {
        match self.target(module) {
            Ok(i) => match self.executor.register(name, i) {
                Ok(()) => Outcome::Passed,
                Err(e) => unexpected("cannot register", &e),
            },
            Err(Outcome::Skipped) => {
                self.executor.register_unsupported(name);
                Outcome::Skipped
            }
            Err(outcome) => outcome,
        }
    }

    /// `invoke`: must return.
    fn invoke(&mut self, call: &WastInvoke<'_>) -> Outcome {
        settle(self.call(call).map(|r| match r {
            Ok(_) => Outcome::Passed,
            Err(e) => unexpected("the call failed", &e),
        }))
    }

    /// Runs what an assertion executes: a call, a `get` of a global, or the
    /// instantiation of a module (no results). The outer error is the
    /// outcome when it cannot be run, as in [`Script::call`].
    fn run(&mut self, exec: WastExecute<'_>) -> Result<Result<Vec<Value>, ExecError>, Outcome> {
        Ok(match exec {
            WastExecute::Invoke(call) => self.call(&call)?,
            WastExecute::Get { module, global, .. } => {
                let i = self.target(module)?;
                self.executor.get(i, global).map(|v| vec![v])
            }
            WastExecute::Wat(module) => {
                let bytes = encode(module)?;
                self.instantiate_bytes(&bytes).map(|_| Vec::new())
            }
        })
    }

    /// `assert_return`.
    fn assert_return(&mut self, exec: WastExecute<'_>, results: &[WastRet<'_>]) -> Outcome {
        let expected = match values::expected(results) {
            Ok(expected) => expected,
            Err(why) => return Outcome::Failed(why),
        };
        let actual = match self.run(exec) {
            Ok(r) => r,
            Err(outcome) => return outcome,
        };
        match actual {
            Ok(actual) => match values::check(&expected, &actual) {
                Ok(()) => Outcome::Passed,
                Err(why) => Outcome::Failed(why),
            },
            Err(e) => unexpected("expected a return", &e),
        }
    }

    /// `assert_trap`: a call, or instantiating a module (uninstantiable).
    fn assert_trap(&mut self, exec: WastExecute<'_>, message: &str) -> Outcome {
        if let WastExecute::Get { .. } = exec {
            return Outcome::Failed("reading a global cannot trap".into());
        }
        let result = match self.run(exec) {
            Ok(r) => r,
            Err(outcome) => return outcome,
        };
        match result {
            Err(ExecError::Trap {
                message: actual, ..
            }) if trap_matches(&actual, message) => Outcome::Passed,
            Err(ExecError::Trap {
                message: actual, ..
            }) => Outcome::Failed(format!("trapped with {actual:?}, expected {message:?}")),
            Ok(values) => Outcome::Failed(format!(
                "returned [{}] instead of trapping with {message:?}",
                values::list(&values)
            )),
            Err(e) => unexpected(&format!("expected the trap {message:?}"), &e),
        }
    }

    /// `assert_exception`: a call, or instantiating a module (its start
    /// function), must end with an exception no handler caught.
    fn assert_exception(&mut self, exec: WastExecute<'_>) -> Outcome {
        if let WastExecute::Get { .. } = exec {
            return Outcome::Failed("reading a global cannot throw".into());
        }
        match self.run(exec) {
            Err(outcome) => outcome,
            Ok(Err(ExecError::Exception)) => Outcome::Passed,
            Ok(Ok(values)) => Outcome::Failed(format!(
                "returned [{}] instead of throwing",
                values::list(&values)
            )),
            Ok(Err(e)) => unexpected("expected an uncaught exception", &e),
        }
    }

    /// `assert_exhaustion`: the call must exhaust the call stack.
    fn assert_exhaustion(&mut self, call: &WastInvoke<'_>, message: &str) -> Outcome {
        match self.call(call) {
            Err(outcome) => outcome,
            Ok(Err(ExecError::Trap {
                exhausted: true, ..
            })) => Outcome::Passed,
            Ok(Ok(values)) => Outcome::Failed(format!(
                "returned [{}] instead of {message:?}",
                values::list(&values)
            )),
            Ok(Err(e)) => unexpected(&format!("expected {message:?}"), &e),
        }
    }

    /// `assert_unlinkable`: compiles, and fails to link.
    fn assert_unlinkable(&mut self, module: Wat<'_>) -> Outcome {
        let bytes = match encode(module) {
            Ok(bytes) => bytes,
            Err(outcome) => return outcome,
        };
        let module = match self.executor.compile(&bytes) {
            Ok(m) => m,
            Err(e) => return unexpected("the module must be valid to be unlinkable", &e),
        };
        match self.executor.instantiate(module) {
            Err(ExecError::Unlinkable(_)) => Outcome::Passed,
            Ok(_) => Outcome::Failed("linked a module that must be unlinkable".into()),
            Err(e) => unexpected("expected a link error", &e),
        }
    }
}

/// The binary of a module a directive carries.
fn encode(mut module: Wat<'_>) -> Result<Vec<u8>, Outcome> {
    if matches!(module, Wat::Component(_)) {
        return Err(Outcome::Failed(
            "components are not core WebAssembly".into(),
        ));
    }
    module
        .encode()
        .map_err(|e| Outcome::Failed(format!("cannot encode the module: {e}")))
}

impl Runner<'_, '_> {
    /// Decides the outcome of the directive at `location` on an executing
    /// tier; see the module documentation for the rules.
    pub(super) fn execute(
        self,
        script: &mut Script,
        directive: WastDirective<'_>,
        location: &super::Location,
        report: &mut FileReport,
    ) -> Outcome {
        let kind = directive_name(&directive);
        match directive {
            WastDirective::Module(module) => script.module(module),
            WastDirective::ModuleDefinition(module) => script.define(module),
            WastDirective::ModuleInstance {
                instance, module, ..
            } => script.instance(instance, module),
            WastDirective::AssertMalformed {
                module, message, ..
            } => self.assert_malformed(module, message, location, report),
            WastDirective::AssertInvalid {
                module, message, ..
            } => self.assert_invalid(module, message, location, report),
            WastDirective::Register { name, module, .. } => script.register(name, module),
            WastDirective::Invoke(call) => script.invoke(&call),
            WastDirective::AssertReturn { exec, results, .. } => {
                script.assert_return(exec, &results)
            }
            WastDirective::AssertTrap { exec, message, .. } => script.assert_trap(exec, message),
            WastDirective::AssertExhaustion { call, message, .. } => {
                script.assert_exhaustion(&call, message)
            }
            WastDirective::AssertUnlinkable { module, .. } => script.assert_unlinkable(module),
            WastDirective::AssertException { exec, .. } => script.assert_exception(exec),
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. }
            | WastDirective::AssertSuspension { .. }
            | WastDirective::Thread(_)
            | WastDirective::Wait { .. } => {
                Outcome::Failed(format!("the harness does not run `{kind}` directives"))
            }
        }
    }
}

#[cfg(test)]
mod tests;
