//! Replaying one `.wast` script in every world: its modules, registrations
//! and calls, directive by directive.

use super::*;

/// What a module name (or the current module) stands for.
#[derive(Debug, Clone)]
enum Slot {
    /// Instantiated in the reference world: its instance in each world
    /// (`None` where that world has none), and whether its calls may cross
    /// into other instances.
    Ready {
        ids: Vec<Option<usize>>,
        crossing: bool,
    },
    /// Not run, why: whatever uses it is skipped.
    Skipped(&'static str),
    /// The reference world did not instantiate it.
    Failed,
}

/// One file's replay.
pub(crate) struct Script<'t> {
    suite: &'static Suite,
    file: &'t WastFile,
    features: Features,
    /// In [`WORLDS`] order; `None` for a world that does not run here.
    worlds: Vec<Option<Box<dyn World>>>,
    slots: Vec<Slot>,
    names: HashMap<String, usize>,
    current: Option<usize>,
    /// Registered names, and the slot each names.
    registered: HashMap<String, usize>,
    /// Calls run so far (for [`small_budget`]).
    calls: u64,
    tally: &'t mut Tally,
}

impl<'t> Script<'t> {
    /// A replay of `file` in `worlds`, counted in `tally`.
    pub(crate) fn new(
        suite: &'static Suite,
        file: &'t WastFile,
        features: Features,
        worlds: Vec<Option<Box<dyn World>>>,
        tally: &'t mut Tally,
    ) -> Script<'t> {
        Script {
            suite,
            file,
            features,
            worlds,
            slots: Vec::new(),
            names: HashMap::new(),
            current: None,
            registered: HashMap::new(),
            calls: 0,
            tally,
        }
    }

    /// The counts, to record a failure of the whole file in.
    pub(crate) fn tally(self) -> &'t mut Tally {
        self.tally
    }
}

impl Script<'_> {
    fn disagree(&mut self, offset: usize, world: &'static str, what: String, a: String, b: String) {
        let before = self.file.text.get(..offset).unwrap_or(self.file.text);
        let line = before.matches('\n').count() + 1;
        self.tally.disagreements.push(Disagreement {
            at: format!("{}/{}:{line}", self.suite.name, self.file.name),
            world,
            what,
            reference: a,
            other: b,
        });
    }

    fn skip_module(&mut self, why: &str) {
        *self.tally.skipped_modules.entry(why.into()).or_default() += 1;
    }

    fn skip_call(&mut self, why: &str) {
        *self.tally.skipped_calls.entry(why.into()).or_default() += 1;
    }

    fn not_on_wasmi(&mut self, why: String) {
        let suite = self.suite.name.to_string();
        self.tally.not_on_wasmi.entry(suite).or_insert((0, why)).0 += 1;
    }

    /// Validates and rewrites a module: its two binaries, or the slot of a
    /// module that is not run. `instrument` refusing (or panicking on) a
    /// module Kiln validates is a disagreement; a module exporting a
    /// counter's name already is skipped.
    fn prepare(
        &mut self,
        module: Result<Vec<u8>, String>,
        offset: usize,
    ) -> Result<(Vec<u8>, Vec<u8>), Slot> {
        let Ok(original) = module else {
            self.skip_module("does not encode");
            return Err(Slot::Skipped("does not encode"));
        };
        if kiln::validate(&original, self.features).is_err() {
            self.skip_module("Kiln rejects it (an expected failure of the spec runner)");
            return Err(Slot::Skipped("Kiln rejects its module"));
        }
        let config = InstrumentConfig {
            fuel: true,
            initial_fuel: LARGE_BUDGET,
            canonicalize_nans: true,
            max_call_depth: Some(MAX_CALL_DEPTH),
            defer_start: false,
            ..InstrumentConfig::default()
        };
        let refused = match catch_unwind(|| instrument(&original, &config)) {
            Ok(Ok(rewritten)) => return Ok((original, rewritten)),
            Ok(Err(InstrumentError::NameTaken(name))) => {
                self.skip_module(&format!("exports `{name}` already"));
                return Err(Slot::Skipped("its module exports a counter's name"));
            }
            Ok(Err(e)) => format!("refused: {e}"),
            Err(panic) => format!("panicked: {}", panic_message(panic.as_ref())),
        };
        let what = "rewriting a module Kiln validates".to_string();
        self.disagree(offset, "instrument", what, "valid".into(), refused);
        Err(Slot::Skipped("instrument refused its module"))
    }

    /// Whether calls of a module with these imports may run another
    /// instance's code: it imports a function from one, or any table (the
    /// `spectest` table is shared by every module of the file), or a
    /// reference global. A registered module whose table or reference global
    /// this one imports may then call this one's functions, so it is marked
    /// too. Also whether the module imports a table.
    fn imports(&mut self, original: &[u8]) -> (bool, bool) {
        let Ok(module) = kiln_parser::parse(original, self.features) else {
            return (true, true);
        };
        let mut crossing = false;
        let mut tables = false;
        for import in &module.imports {
            let shares = match import.kind {
                ImportKind::Func(_) => {
                    crossing |= import.module != "spectest";
                    false
                }
                ImportKind::Table(_) => {
                    tables = true;
                    true
                }
                ImportKind::Global(g) => g.content.is_ref(),
                ImportKind::Memory(_) | ImportKind::Tag(_) => false,
            };
            if shares {
                crossing = true;
                if let Some(&slot) = self.registered.get(&import.module)
                    && let Some(Slot::Ready { crossing, .. }) = self.slots.get_mut(slot)
                {
                    *crossing = true;
                }
            }
        }
        (crossing, tables)
    }

    /// Instantiates a module in every world and compares how that ended
    /// (and, on its own instance, the fuel it left): the slot it makes.
    fn instantiate(&mut self, module: Result<Vec<u8>, String>, offset: usize) -> Slot {
        let (original, instrumented) = match self.prepare(module, offset) {
            Ok(binaries) => binaries,
            Err(slot) => return slot,
        };
        let (crossing, imports_tables) = self.imports(&original);
        let binaries = Binaries {
            original: &original,
            instrumented: &instrumented,
        };
        let mut ids = vec![None; WORLDS.len()];
        let mut reference = Err(Ending::Failed("no reference world".into()));
        for w in 0..WORLDS.len() {
            let Some(world) = self.worlds[w].as_mut() else {
                continue;
            };
            let outcome = match world.instantiate(&binaries) {
                Instantiated::Ready(id) => {
                    ids[w] = Some(id);
                    Ok(if world.rewritten() {
                        world.counters(id).0
                    } else {
                        world.fuel()
                    })
                }
                Instantiated::Unavailable(why) => {
                    self.not_on_wasmi(why);
                    continue;
                }
                Instantiated::Failed(e) => Err(e),
            };
            // wasmi 2.0 keeps the functions a trapped instantiation put in
            // an imported table, but not their instance's globals: calling
            // one (the rewritten code reads its counters) panics inside
            // wasmi, which aborts. wasmi sits out the rest of the file.
            if w == WASMI && imports_tables && matches!(outcome, Err(Ending::Trap(_))) {
                self.worlds[WASMI] = None;
                let file = format!("{}/{}", self.suite.name, self.file.name);
                self.tally.wasmi_left.push(file);
            }
            if w == REFERENCE {
                reference = outcome;
                continue;
            }
            let agree = match (&reference, &outcome) {
                // A start function may run in other instances.
                (Ok(a), Ok(b)) => crossing || a == b,
                // wasmi's messages are its own; a rewritten module's status
                // cannot be read without an instance, so its `unreachable`
                // stands for out of fuel and call depth too.
                (Err(a), Err(b)) => {
                    w == WASMI
                        || a == b
                        || (w != 1
                            && matches!(a, Ending::OutOfFuel | Ending::Exhausted)
                            && *b == Ending::Trap(TrapCode::Unreachable.message().into()))
                }
                // wasmi links more strictly or loosely than Kiln in places:
                // counted as not run there, unless it trapped.
                (Ok(_), Err(Ending::Failed(why))) if w == WASMI => {
                    self.not_on_wasmi(format!("wasmi cannot link it: {why}"));
                    true
                }
                _ => false,
            };
            if !agree {
                let show = |o: &Result<u64, Ending>| match o {
                    Ok(fuel) => format!("instantiated, fuel left {fuel}"),
                    Err(e) => format!("{e:?}"),
                };
                let (a, b) = (show(&reference), show(&outcome));
                self.disagree(offset, WORLDS[w], "instantiation".into(), a, b);
            }
        }
        if reference.is_err() {
            return Slot::Failed;
        }
        self.tally.modules += 1;
        self.tally.crossing_modules += usize::from(crossing);
        Slot::Ready { ids, crossing }
    }

    fn bind(&mut self, name: Option<Id<'_>>, slot: Slot) {
        self.slots.push(slot);
        let index = self.slots.len() - 1;
        if let Some(id) = name {
            self.names.insert(id.name().to_string(), index);
        }
        self.current = Some(index);
    }

    fn target(&self, module: Option<Id<'_>>) -> Option<usize> {
        match module {
            Some(id) => self.names.get(id.name()).copied(),
            None => self.current,
        }
    }

    fn register(&mut self, name: &str, module: Option<Id<'_>>) {
        let Some(slot) = self.target(module) else {
            return;
        };
        self.registered.insert(name.to_string(), slot);
        let ids = match &self.slots[slot] {
            Slot::Ready { ids, .. } => ids.clone(),
            _ => vec![None; WORLDS.len()],
        };
        for (world, id) in self.worlds.iter_mut().zip(ids) {
            if let Some(world) = world {
                world.register(name, id);
            }
        }
    }

    /// Runs a call in every world and compares: twice (small budget, then
    /// large) on its own instance, once on every instance if it may cross.
    fn call(&mut self, call: &WastInvoke<'_>, offset: usize) {
        let Some(slot) = self.target(call.module) else {
            self.skip_call("no such module");
            return;
        };
        let (ids, crossing) = match &self.slots[slot] {
            Slot::Ready { ids, crossing } => (ids.clone(), *crossing),
            Slot::Skipped(why) => {
                let why = format!("its module was not run: {why}");
                self.skip_call(&why);
                return;
            }
            Slot::Failed => {
                self.skip_call("its module did not instantiate");
                return;
            }
        };
        let args = match args(&call.args) {
            Ok(args) => args,
            Err(why) => {
                self.skip_call(why);
                return;
            }
        };
        let budgets = if crossing {
            vec![Fuel::Everywhere(LARGE_BUDGET)]
        } else {
            let small = small_budget(self.calls);
            self.calls += 1;
            vec![Fuel::Only(small), Fuel::Only(LARGE_BUDGET)]
        };
        for fuel in budgets {
            let outcomes: Vec<Option<Outcome>> = self
                .worlds
                .iter_mut()
                .zip(&ids)
                .map(|(w, id)| Some(run(w.as_deref_mut()?, (*id)?, call.name, &args, fuel)))
                .collect();
            self.compare(call, &args, fuel, &outcomes, offset);
        }
    }

    fn compare(
        &mut self,
        call: &WastInvoke<'_>,
        args: &[Arg],
        fuel: Fuel,
        outcomes: &[Option<Outcome>],
        offset: usize,
    ) {
        let Some(reference) = &outcomes[REFERENCE] else {
            return;
        };
        let crossing = matches!(fuel, Fuel::Everywhere(_));
        if !crossing {
            match reference.ending {
                Ending::OutOfFuel => self.tally.out_of_fuel += 1,
                Ending::Exhausted => self.tally.exhausted += 1,
                Ending::Trap(_) => self.tally.other_traps += 1,
                _ => {}
            }
        }
        for (w, outcome) in outcomes.iter().enumerate().skip(1) {
            let Some(outcome) = outcome else { continue };
            let same_ending = match (&reference.ending, &outcome.ending) {
                (a, b) if a == b => true,
                // wasmi's messages are its own.
                (Ending::Trap(_), Ending::Trap(_)) | (Ending::Failed(_), Ending::Failed(_)) => {
                    w == WASMI
                }
                _ => false,
            };
            if crossing {
                self.tally.crossing_runs[w] += 1;
            } else {
                self.tally.runs[w] += 1;
            }
            let same_fuel = crossing || reference.fuel == outcome.fuel;
            if same_ending && same_fuel && !outcome.crossed {
                continue;
            }
            let on = if crossing { "every instance's " } else { "" };
            let what = format!("`{}`{args:?} on {on}{}", call.name, fuel.budget());
            let show = |o: &Outcome| {
                let fuel = if crossing {
                    String::new()
                } else {
                    format!(", fuel left {}", o.fuel)
                };
                let crossed = if o.crossed {
                    ", ran in another instance"
                } else {
                    ""
                };
                format!("{:?}{fuel}{crossed}", o.ending)
            };
            self.disagree(offset, WORLDS[w], what, show(reference), show(outcome));
        }
    }

    /// `assert_return (get ...)`: the global's value in every world.
    fn get(&mut self, module: Option<Id<'_>>, global: &str, offset: usize) {
        let slot = self.target(module).map(|s| self.slots[s].clone());
        let Some(Slot::Ready { ids, .. }) = slot else {
            self.skip_call("a global of a module that did not run");
            return;
        };
        let values: Vec<Option<Result<Value, String>>> = self
            .worlds
            .iter_mut()
            .zip(&ids)
            .map(|(w, id)| Some(w.as_mut()?.get((*id)?, global)))
            .collect();
        let Some(reference) = values[REFERENCE].clone() else {
            return;
        };
        for (w, v) in values.into_iter().enumerate().skip(1) {
            let Some(v) = v else { continue };
            self.tally.gets[w] += 1;
            if v != reference {
                let (what, a, b) = (format!("global `{global}`"), reference.clone(), v);
                self.disagree(offset, WORLDS[w], what, format!("{a:?}"), format!("{b:?}"));
            }
        }
    }

    pub(crate) fn directive(&mut self, directive: WastDirective<'_>) {
        let offset = directive.span().offset();
        match directive {
            WastDirective::Module(mut module) => {
                let name = module.name();
                let bytes = match module {
                    QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_)) => {
                        Err("a component".into())
                    }
                    _ => module.encode().map_err(|e| e.to_string()),
                };
                let slot = self.instantiate(bytes, offset);
                self.bind(name, slot);
            }
            WastDirective::ModuleDefinition(_) => self.skip_module("module definition"),
            WastDirective::ModuleInstance { instance, .. } => {
                self.skip_module("module instance");
                self.bind(instance, Slot::Skipped("module instance"));
            }
            WastDirective::Register { name, module, .. } => self.register(name, module),
            WastDirective::Invoke(call)
            | WastDirective::AssertExhaustion { call, .. }
            | WastDirective::AssertReturn {
                exec: WastExecute::Invoke(call),
                ..
            }
            | WastDirective::AssertTrap {
                exec: WastExecute::Invoke(call),
                ..
            }
            | WastDirective::AssertException {
                exec: WastExecute::Invoke(call),
                ..
            } => self.call(&call, offset),
            WastDirective::AssertReturn {
                exec: WastExecute::Get { module, global, .. },
                ..
            } => self.get(module, global, offset),
            // Modules instantiated for their effects (or failure): compared,
            // not bound.
            WastDirective::AssertUnlinkable { mut module, .. }
            | WastDirective::AssertReturn {
                exec: WastExecute::Wat(mut module),
                ..
            }
            | WastDirective::AssertTrap {
                exec: WastExecute::Wat(mut module),
                ..
            }
            | WastDirective::AssertException {
                exec: WastExecute::Wat(mut module),
                ..
            } => {
                let bytes = match module {
                    Wat::Component(_) => Err("a component".into()),
                    Wat::Module(_) => module.encode().map_err(|e| e.to_string()),
                };
                self.instantiate(bytes, offset);
            }
            // Reading a global cannot trap or throw.
            WastDirective::AssertTrap { .. } | WastDirective::AssertException { .. } => {
                self.skip_call("`assert_trap` or `assert_exception` of a global")
            }
            WastDirective::AssertSuspension { .. }
            | WastDirective::Thread(_)
            | WastDirective::Wait { .. } => self.skip_call("threads or stack switching"),
            // Validation only: nothing runs.
            WastDirective::AssertMalformed { .. }
            | WastDirective::AssertInvalid { .. }
            | WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => {}
        }
    }
}
