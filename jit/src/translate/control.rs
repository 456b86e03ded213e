//! Structured control, branches and calls.
//!
//! Each `block`, `loop` and `if` gets a Cranelift block `next` where its `end`
//! continues, with one block parameter per result, so multi-value results are
//! block arguments. A `loop` also gets a `header` block with one parameter per
//! loop parameter, the target of its branches; the header is sealed at the
//! loop's `end`, once every back edge is known. An `if` branches to a `then`
//! and an `else` block; without an `else` instruction, the `else` block passes
//! the `if`'s parameters straight to `next`. The function body is frame 0,
//! whose `next` is the exit block that counts the frame off and returns.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    Block, BlockArg, InstBuilder, JumpTableData, MemFlagsData, SigRef, Value, types,
};
use kiln_parser::{BlockType, BrTable, ValType};

use super::exceptions::{try_call, try_call_indirect};
use super::{FuncState, SLOT_SIZE, clif_type};
use crate::CompileError;
use crate::libcalls::Libcall;
use crate::vmctx;
use kiln_runtime::TrapCode;

/// What kind of construct a control frame is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FrameKind {
    /// The function body.
    Function,
    /// A `block`.
    Block,
    /// A `loop`; branches go to its header.
    Loop {
        /// The loop's first block, with one parameter per loop parameter.
        header: Block,
    },
    /// The `then` branch of an `if`.
    If {
        /// Where the `else` branch starts.
        else_block: Block,
        /// Where the `if`'s parameters start in `Scratch::if_params`.
        params_at: usize,
    },
    /// The `else` branch of an `if`.
    Else,
    /// A `try_table`: a block whose scope is open on `Scratch::scopes`
    /// (`try_table.rs`).
    TryTable,
}

/// One entry of the control stack.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ControlFrame {
    kind: FrameKind,
    /// Where `end` continues; its parameters are the frame's results.
    next: Block,
    num_params: usize,
    num_results: usize,
    /// Operand-stack height below the frame's parameters.
    height: usize,
    /// Whether any branch goes to `next`: then the code after `end` is reachable even
    /// when the end of the frame's own code is not.
    next_reached: bool,
}

impl ControlFrame {
    /// The function body's frame, ending in `exit`.
    pub(crate) fn function(exit: Block, num_results: usize) -> ControlFrame {
        ControlFrame {
            kind: FrameKind::Function,
            next: exit,
            num_params: 0,
            num_results,
            height: 0,
            next_reached: false,
        }
    }

    /// Where a branch to this frame goes, and how many values it carries.
    pub(super) fn branch_target(&self) -> (Block, usize) {
        match self.kind {
            FrameKind::Loop { header } => (header, self.num_params),
            _ => (self.next, self.num_results),
        }
    }

    /// Records a branch to this frame (which makes `next` reachable unless it is a loop).
    pub(super) fn mark_branched(&mut self) {
        if !matches!(self.kind, FrameKind::Loop { .. }) {
            self.next_reached = true;
        }
    }
}

impl<'e> FuncState<'_, 'e> {
    /// The parameter and result types of a block type.
    fn block_sig(&self, bt: BlockType) -> (&'e [ValType], &'e [ValType]) {
        match bt {
            BlockType::Empty => (&[], &[]),
            BlockType::Value(t) => (&[], single(t)),
            BlockType::Func(t) => {
                let module: &'e kiln_parser::Module = self.env.module;
                let ty = module.types[t.index()].func();
                (&ty.params, &ty.results)
            }
        }
    }

    /// Parameter and result counts of `bt`, after checking their types, and a new
    /// block with one parameter per result.
    fn open(&mut self, bt: BlockType) -> Result<(usize, usize, Block), CompileError> {
        let (params, results) = self.block_sig(bt);
        for &p in params {
            clif_type(p)?;
        }
        let next = self.b.create_block();
        for &r in results {
            let ty = clif_type(r)?;
            self.b.append_block_param(next, ty);
        }
        Ok((params.len(), results.len(), next))
    }

    /// A new block with one parameter per parameter of `bt`.
    fn block_with_params(&mut self, bt: BlockType) -> Result<Block, CompileError> {
        let block = self.b.create_block();
        for &p in self.block_sig(bt).0 {
            let ty = clif_type(p)?;
            self.b.append_block_param(block, ty);
        }
        Ok(block)
    }

    /// Jumps to `target` with the top `n` operands as arguments.
    fn jump_with(&mut self, target: Block, n: usize) {
        self.s.args.clear();
        let start = self.s.stack.len() - n;
        self.s
            .args
            .extend(self.s.stack[start..].iter().map(|&v| BlockArg::Value(v)));
        self.b.ins().jump(target, &self.s.args);
    }

    pub(super) fn visit_block(&mut self, bt: BlockType) -> Result<(), CompileError> {
        self.open_block(bt, FrameKind::Block)
    }

    /// The frame of a `try_table` of type `bt` (its scope is `try_table.rs`'s).
    pub(super) fn open_try_table(&mut self, bt: BlockType) -> Result<(), CompileError> {
        self.open_block(bt, FrameKind::TryTable)
    }

    /// Opens a block-like frame of `kind`: branches to it go to its end.
    fn open_block(&mut self, bt: BlockType, kind: FrameKind) -> Result<(), CompileError> {
        let (num_params, num_results, next) = self.open(bt)?;
        self.s.controls.push(ControlFrame {
            kind,
            next,
            num_params,
            num_results,
            height: self.s.stack.len() - num_params,
            next_reached: false,
        });
        Ok(())
    }

    pub(super) fn visit_loop(&mut self, bt: BlockType) -> Result<(), CompileError> {
        let (num_params, num_results, next) = self.open(bt)?;
        let header = self.block_with_params(bt)?;
        self.jump_with(header, num_params);
        let height = self.s.stack.len() - num_params;
        self.s.stack.truncate(height);
        self.b.switch_to_block(header);
        self.s
            .stack
            .extend_from_slice(self.b.func.dfg.block_params(header));
        self.check_epoch();
        self.s.controls.push(ControlFrame {
            kind: FrameKind::Loop { header },
            next,
            num_params,
            num_results,
            height,
            next_reached: false,
        });
        Ok(())
    }

    pub(super) fn visit_if(&mut self, bt: BlockType) -> Result<(), CompileError> {
        let cond = self.pop();
        let (num_params, num_results, next) = self.open(bt)?;
        let then_block = self.b.create_block();
        let else_block = self.b.create_block();
        self.b.ins().brif(cond, then_block, &[], else_block, &[]);
        self.b.seal_block(then_block);
        self.b.seal_block(else_block);
        let params_at = self.s.if_params.len();
        let height = self.s.stack.len() - num_params;
        self.s.if_params.extend_from_slice(&self.s.stack[height..]);
        self.b.switch_to_block(then_block);
        self.s.controls.push(ControlFrame {
            kind: FrameKind::If {
                else_block,
                params_at,
            },
            next,
            num_params,
            num_results,
            height,
            next_reached: false,
        });
        Ok(())
    }

    /// `else`: closes the `then` branch and starts the `else` branch with the `if`'s
    /// parameters (reachable, since the `if` itself was).
    pub(super) fn visit_else(&mut self) {
        let Some(frame) = self.s.controls.last().copied() else {
            return;
        };
        let FrameKind::If {
            else_block,
            params_at,
        } = frame.kind
        else {
            return;
        };
        let mut next_reached = frame.next_reached;
        if self.reachable {
            self.jump_with(frame.next, frame.num_results);
            next_reached = true;
        }
        self.s.stack.truncate(frame.height);
        self.s
            .stack
            .extend_from_slice(&self.s.if_params[params_at..]);
        self.s.if_params.truncate(params_at);
        self.b.switch_to_block(else_block);
        if let Some(top) = self.s.controls.last_mut() {
            top.kind = FrameKind::Else;
            top.next_reached = next_reached;
        }
        self.reachable = true;
    }

    /// `end`: closes the innermost frame and continues at its `next` block, if anything
    /// reaches it.
    pub(super) fn visit_end(&mut self) -> Result<(), CompileError> {
        let Some(mut frame) = self.s.controls.pop() else {
            return Ok(());
        };
        if self.reachable {
            self.jump_with(frame.next, frame.num_results);
            frame.next_reached = true;
        }
        match frame.kind {
            FrameKind::If {
                else_block,
                params_at,
            } => {
                // No `else`: the false branch passes the parameters through.
                self.b.switch_to_block(else_block);
                self.s.args.clear();
                self.s.args.extend(
                    self.s.if_params[params_at..]
                        .iter()
                        .map(|&v| BlockArg::Value(v)),
                );
                self.b.ins().jump(frame.next, &self.s.args);
                self.s.if_params.truncate(params_at);
                frame.next_reached = true;
            }
            FrameKind::Loop { header } => self.b.seal_block(header),
            FrameKind::TryTable => self.end_try_table()?,
            FrameKind::Function | FrameKind::Block | FrameKind::Else => {}
        }
        self.s.stack.truncate(frame.height);
        self.reachable = frame.next_reached;
        if !frame.next_reached {
            return Ok(());
        }
        self.b.switch_to_block(frame.next);
        self.b.seal_block(frame.next);
        self.s
            .stack
            .extend_from_slice(self.b.func.dfg.block_params(frame.next));
        if let FrameKind::Function = frame.kind {
            self.epilogue(frame.next);
        }
        Ok(())
    }

    /// The block a catch clause with label `depth` jumps to, counted from the
    /// innermost open frame (the `try_table`'s own frame already closed), marked
    /// as branched to.
    pub(super) fn catch_target(&mut self, depth: u32) -> Block {
        let i = self.s.controls.len() - 1 - depth as usize;
        self.s.controls[i].mark_branched();
        self.s.controls[i].branch_target().0
    }

    /// The block a branch with label `depth` goes to and how many values it
    /// carries, marked as branched to.
    pub(super) fn branch_to(&mut self, depth: u32) -> (Block, usize) {
        let i = self.s.controls.len() - 1 - depth as usize;
        self.s.controls[i].mark_branched();
        self.s.controls[i].branch_target()
    }

    /// The exit block: returns its parameters.
    fn epilogue(&mut self, exit: Block) {
        self.s.call_args.clear();
        self.s
            .call_args
            .extend_from_slice(self.b.func.dfg.block_params(exit));
        self.b.ins().return_(&self.s.call_args);
        self.reachable = false;
    }

    /// `br l` (and `return`, a branch to the function's frame).
    pub(super) fn visit_br(&mut self, depth: u32) {
        let i = self.s.controls.len() - 1 - depth as usize;
        let (target, n) = self.s.controls[i].branch_target();
        self.s.controls[i].mark_branched();
        self.jump_with(target, n);
        self.reachable = false;
    }

    pub(super) fn visit_br_if(&mut self, depth: u32) {
        let cond = self.pop();
        let i = self.s.controls.len() - 1 - depth as usize;
        let (target, n) = self.s.controls[i].branch_target();
        self.s.controls[i].mark_branched();
        self.s.args.clear();
        let start = self.s.stack.len() - n;
        self.s
            .args
            .extend(self.s.stack[start..].iter().map(|&v| BlockArg::Value(v)));
        let cont = self.b.create_block();
        self.b.ins().brif(cond, target, &self.s.args, cont, &[]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
    }

    /// `br_table`: a Cranelift jump table. Jump tables carry no arguments, so when the
    /// targets take values each distinct target gets an edge block that passes them.
    pub(super) fn visit_br_table(&mut self, table: &BrTable) {
        let index = self.pop();
        let frame_of = |s: &Self, depth: u32| s.s.controls.len() - 1 - depth as usize;
        let (_, n) = self.s.controls[frame_of(self, table.default.0)].branch_target();
        // (depth, block the jump table names).
        let mut edges: Vec<(u32, cranelift_codegen::ir::Block)> = Vec::new();
        let mut entry = |s: &mut Self, depth: u32| {
            let i = frame_of(s, depth);
            s.s.controls[i].mark_branched();
            let (target, _) = s.s.controls[i].branch_target();
            let block = if n == 0 {
                target
            } else if let Some(&(_, e)) = edges.iter().find(|&&(d, _)| d == depth) {
                e
            } else {
                let e = s.b.create_block();
                edges.push((depth, e));
                e
            };
            s.b.func.dfg.block_call(block, &[])
        };
        let default = entry(self, table.default.0);
        let targets: Vec<_> = table.targets.iter().map(|l| entry(self, l.0)).collect();
        let jt = self
            .b
            .create_jump_table(JumpTableData::new(default, &targets));
        self.b.ins().br_table(index, jt);
        for (depth, edge) in edges {
            let (target, _) = self.s.controls[frame_of(self, depth)].branch_target();
            self.b.switch_to_block(edge);
            self.b.seal_block(edge);
            self.jump_with(target, n);
        }
        self.reachable = false;
    }

    /// Pops the `n` arguments of a call into `Scratch::call_args`, after the
    /// context pointer and the callee's `depth`.
    pub(super) fn pop_call_args(&mut self, n: usize, depth: Value) {
        let start = self.s.stack.len() - n;
        self.s.call_args.clear();
        self.s.call_args.push(self.vmctx);
        self.s.call_args.push(depth);
        self.s.call_args.extend_from_slice(&self.s.stack[start..]);
        self.s.stack.truncate(start);
    }

    /// `call f`: a direct call to a function of the module (a `try_call` inside a
    /// `try_table`), or a libcall for an import.
    pub(super) fn visit_call(&mut self, f: u32) -> Result<(), CompileError> {
        self.call_or_import(f, false)
    }

    /// `call f`; an import as part of `return_call` when `tail` (its exception is
    /// then not this frame's to catch).
    fn call_or_import(&mut self, f: u32, tail: bool) -> Result<(), CompileError> {
        let imported = self.env.num_imported_funcs();
        let ty = self.env.func_type(f);
        // A tail call replaces this frame: the callee runs at this
        // function's own depth, as `return_call_indirect`'s does.
        let depth = if tail { self.depth_in } else { self.depth_out };
        self.pop_call_args(ty.params.len(), depth);
        if f < imported {
            let results = self.call_through_libcall(ty, tail, |s, buf| {
                let call = s.libcall(
                    Libcall::CallFunc,
                    &[types::I32, types::I32, s.env.pointer()],
                    &[],
                );
                let index = s.b.ins().iconst(types::I32, i64::from(f));
                s.b.ins().call(call, &[s.vmctx, depth, index, buf]);
                s.reload_fuel();
            })?;
            self.s.stack.extend_from_slice(&results);
            return Ok(());
        }
        let callee = self.callee(f - imported)?;
        if let Some(scope) = self.catching_scope() {
            let results = try_call(&mut self.b, scope, callee, &self.s.call_args);
            self.s.stack.extend_from_slice(&results);
            self.reload_fuel();
            return Ok(());
        }
        let call = self.b.ins().call(callee, &self.s.call_args);
        self.s
            .stack
            .extend_from_slice(self.b.func.dfg.inst_results(call));
        self.reload_fuel();
        Ok(())
    }

    /// Calls a libcall that takes its arguments and results in a value buffer: stores
    /// `Scratch::call_args` (after the context and depth) into a buffer for type `ty`, lets
    /// `emit` call the libcall with the buffer's address, raises its pending trap (or
    /// throws its exception into the innermost `try_table`, unless the call is part of
    /// a tail call: `tail`), and returns the results loaded from the buffer.
    pub(super) fn call_through_libcall(
        &mut self,
        ty: &kiln_parser::FuncType,
        tail: bool,
        emit: impl FnOnce(&mut Self, Value),
    ) -> Result<Vec<Value>, CompileError> {
        let buf = self.value_buffer(ty.params.len().max(ty.results.len()));
        let flags = MemFlagsData::trusted();
        for i in 2..self.s.call_args.len() {
            let v = self.s.call_args[i];
            self.b
                .ins()
                .store(flags, v, buf, (i as i32 - 2) * SLOT_SIZE);
        }
        emit(self, buf);
        self.check_call_pending(tail);
        let mut results = Vec::with_capacity(ty.results.len());
        for (i, &t) in ty.results.iter().enumerate() {
            let v = self
                .b
                .ins()
                .load(clif_type(t)?, flags, buf, i as i32 * SLOT_SIZE);
            results.push(v);
        }
        Ok(results)
    }

    /// Returns `results` from the function (through its exit block).
    pub(super) fn return_values(&mut self, results: &[Value]) {
        self.s.stack.extend_from_slice(results);
        self.visit_br(self.s.controls.len() as u32 - 1);
    }

    /// `return_call f`: a Cranelift tail call to a function of the module; an
    /// import is called through the libcall and its results returned.
    pub(super) fn visit_return_call(&mut self, f: u32) -> Result<(), CompileError> {
        let imported = self.env.num_imported_funcs();
        if f < imported {
            self.call_or_import(f, true)?;
            let n = self.env.func_type(f).results.len();
            let start = self.s.stack.len() - n;
            let results = self.s.stack.split_off(start);
            self.return_values(&results);
            return Ok(());
        }
        let ty = self.env.func_type(f);
        // The callee replaces this frame: it runs at this function's own depth.
        self.pop_call_args(ty.params.len(), self.depth_in);
        let callee = self.callee(f - imported)?;
        self.b.ins().return_call(callee, &self.s.call_args);
        self.reachable = false;
        Ok(())
    }

    /// `call_indirect` (or `return_call_indirect` when `tail`) of type `ty` through
    /// `table`. The fast path checks the element's bounds inline, then compares one
    /// 8-byte key of the function's [`vmctx::FuncEntry`] with the expected signature
    /// and this instance, and calls the compiled code directly. Everything else (a
    /// null element, a wrong signature, a host function, another instance's
    /// function) goes to the `call_indirect_slow` libcall, which repeats the checks
    /// in the interpreter's order and traps or calls.
    pub(super) fn visit_call_indirect(
        &mut self,
        ty: u32,
        table: u32,
        tail: bool,
    ) -> Result<(), CompileError> {
        let module: &kiln_parser::Module = self.env.module;
        let fty = module.types[ty as usize].func();
        let info = self.env.tables[table as usize];
        let elem = self.pop();
        let elem = if info.is64 {
            elem
        } else {
            self.b.ins().uextend(types::I64, elem)
        };
        let depth = if tail { self.depth_in } else { self.depth_out };
        self.pop_call_args(fty.params.len(), depth);
        let pointer = self.env.pointer();
        let table_v = self.b.ins().iconst(types::I32, i64::from(table));
        let ty_v = self.b.ins().iconst(types::I32, i64::from(ty));

        // The element, in bounds. A table of fixed size has a constant length and
        // elements that never move.
        let flags = self.vmctx_flags();
        let fixed = flags.with_readonly().with_can_move();
        let tables = self.load_vmctx_table(vmctx::TABLES_OFFSET);
        let def = self
            .b
            .ins()
            .iadd_imm_s(tables, i64::from(table) * i64::from(vmctx::TABLE_DEF_SIZE));
        let outside = match info.fixed_len {
            Some(len) => self.b.ins().icmp_imm_u(
                IntCC::UnsignedGreaterThanOrEqual,
                elem,
                i64::try_from(len).unwrap_or(i64::MAX),
            ),
            None => {
                let len = self
                    .b
                    .ins()
                    .load(types::I64, flags, def, vmctx::TABLE_DEF_LEN);
                self.b
                    .ins()
                    .icmp(IntCC::UnsignedGreaterThanOrEqual, elem, len)
            }
        };
        self.trap_if(outside, TrapCode::UndefinedElement);
        let base_flags = if info.fixed_len.is_some() {
            fixed
        } else {
            flags
        };
        let base = self
            .b
            .ins()
            .load(pointer, base_flags, def, vmctx::TABLE_DEF_BASE);
        let offset = self.b.ins().ishl_imm_u(elem, 2);
        let slot = self.b.ins().iadd(base, offset);
        let raw = self.b.ins().load(types::I32, flags, slot, 0);

        // The function's entry, when the store's cache has one. A null element
        // (raw 0) wraps to `u32::MAX`, which no function address reaches.
        let (entry, fast, slow) = self.func_entry(raw);
        let key = self
            .b
            .ins()
            .load(types::I64, flags, entry, vmctx::FUNC_ENTRY_KEY);
        let expected = self.expected_entry_key(ty);
        let native = self.b.ins().icmp(IntCC::Equal, key, expected);
        self.dispatch_call(ty, tail, (native, entry), (fast, slow), |s, buf| {
            let call = s.libcall(
                Libcall::CallIndirectSlow,
                &[types::I32, types::I32, types::I32, types::I64, pointer],
                &[],
            );
            s.b.ins()
                .call(call, &[s.vmctx, s.depth_out, table_v, ty_v, elem, buf]);
            s.reload_fuel();
        })
    }

    /// The entry of the function whose reference is `raw`, in the store's
    /// cache of entries (`VmContext::func_entries`): emits the check that the
    /// cache holds it, and its address. Returns the entry, computed in a
    /// block the builder is left in, and the two blocks the caller picks
    /// between: `fast` (to create the branch to) and `slow` (cold; also taken
    /// when the cache lacks the function).
    pub(super) fn func_entry(&mut self, raw: Value) -> (Value, Block, Block) {
        let flags = self.vmctx_flags();
        let pointer = self.env.pointer();
        let addr = self.b.ins().iadd_imm_s(raw, -1);
        let addr = self.b.ins().uextend(types::I64, addr);
        let known = self.b.ins().load(
            types::I64,
            flags,
            self.vmctx,
            vmctx::NUM_FUNC_ENTRIES_OFFSET,
        );
        let cached = self.b.ins().icmp(IntCC::UnsignedLessThan, addr, known);
        let lookup = self.b.create_block();
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(cached, lookup, &[], slow, &[]);
        self.b.seal_block(lookup);
        self.b.switch_to_block(lookup);
        let entries = self
            .b
            .ins()
            .load(pointer, flags, self.vmctx, vmctx::FUNC_ENTRIES_OFFSET);
        let offset = self
            .b
            .ins()
            .imul_imm_s(addr, i64::from(vmctx::FUNC_ENTRY_SIZE));
        (self.b.ins().iadd(entries, offset), fast, slow)
    }

    /// The two ways of a call through a function entry: when `native`, a
    /// direct call of the entry's code with type `ty` in block `fast`; else,
    /// in block `slow`, the libcall `slow_call` emits (given the buffer of
    /// arguments and results). Arguments are `Scratch::call_args`; a tail
    /// call returns the results, a call pushes them.
    pub(super) fn dispatch_call(
        &mut self,
        ty: u32,
        tail: bool,
        (native, entry): (Value, Value),
        (fast, slow): (Block, Block),
        slow_call: impl FnOnce(&mut Self, Value),
    ) -> Result<(), CompileError> {
        let module: &kiln_parser::Module = self.env.module;
        let fty = module.types[ty as usize].func();
        let flags = self.vmctx_flags();
        let pointer = self.env.pointer();
        let join = self.b.create_block();
        if !tail {
            for &r in fty.results.iter() {
                let t = clif_type(r)?;
                self.b.append_block_param(join, t);
            }
        }
        self.b.ins().brif(native, fast, &[], slow, &[]);
        self.b.seal_block(fast);
        self.b.seal_block(slow);

        self.b.switch_to_block(fast);
        let code = self
            .b
            .ins()
            .load(pointer, flags, entry, vmctx::FUNC_ENTRY_CODE);
        let sig = self.sig_ref(ty)?;
        if tail {
            self.b
                .ins()
                .return_call_indirect(sig, code, &self.s.call_args);
        } else {
            let results = self.call_indirect_results(sig, code);
            self.b.ins().jump(join, &results);
        }

        self.b.switch_to_block(slow);
        let results = self.call_through_libcall(fty, tail, slow_call)?;
        if tail {
            // `join` stays unused (Cranelift drops empty blocks nothing jumps to).
            self.return_values(&results);
            return Ok(());
        }
        let args: Vec<BlockArg> = results.iter().map(|&v| BlockArg::Value(v)).collect();
        self.b.ins().jump(join, &args);
        self.b.switch_to_block(join);
        self.b.seal_block(join);
        self.s
            .stack
            .extend_from_slice(self.b.func.dfg.block_params(join));
        Ok(())
    }

    /// `call_indirect` of native code `entry` with signature `sig` and
    /// `Scratch::call_args` (a `try_call_indirect` inside a `try_table`): its
    /// results, as block arguments.
    pub(super) fn call_indirect_results(&mut self, sig: SigRef, entry: Value) -> Vec<BlockArg> {
        let results = match self.catching_scope() {
            Some(scope) => try_call_indirect(&mut self.b, scope, sig, entry, &self.s.call_args),
            None => {
                let call = self.b.ins().call_indirect(sig, entry, &self.s.call_args);
                self.b.func.dfg.inst_results(call).to_vec()
            }
        };
        self.reload_fuel();
        results.into_iter().map(BlockArg::Value).collect()
    }

    /// An instruction in unreachable code: only nesting is tracked (module docs).
    pub(super) fn visit_unreachable(
        &mut self,
        instr: &kiln_parser::Instr,
    ) -> Result<(), CompileError> {
        use kiln_parser::Instr;
        match instr {
            Instr::Block(_) | Instr::Loop(_) | Instr::If(_) | Instr::TryTable(_) => {
                self.dead_depth += 1
            }
            Instr::Else if self.dead_depth == 0 => self.visit_else(),
            Instr::End if self.dead_depth == 0 => self.visit_end()?,
            Instr::End => self.dead_depth -= 1,
            _ => {}
        }
        Ok(())
    }
}

/// `[t]` as a static slice. Every reference type is an `i32` address to
/// compiled code, so one stands for all.
fn single(t: ValType) -> &'static [ValType] {
    match t {
        ValType::I32 => &[ValType::I32],
        ValType::I64 => &[ValType::I64],
        ValType::F32 => &[ValType::F32],
        ValType::F64 => &[ValType::F64],
        ValType::V128 => &[ValType::V128],
        ValType::Ref(_) => &[ValType::FUNCREF],
    }
}
