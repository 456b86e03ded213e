//! The `spectest` host module that the spec scripts import from.

use kiln::{
    Error, Extern, Func, FuncType, Global, GlobalType, IndexType, Limits, Memory, MemoryType,
    RefType, Store, Table, TableType, Val, ValType,
};

/// The `spectest` module every spec script may import from: functions that do
/// nothing, four immutable globals, a table and a memory.
pub fn exports(store: &mut Store<()>) -> Result<Vec<(String, Extern)>, Error> {
    let mut items: Vec<(String, Extern)> = Vec::new();
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[ValType::I32]),
        ("print_i64", &[ValType::I64]),
        ("print_f32", &[ValType::F32]),
        ("print_f64", &[ValType::F64]),
        ("print_i32_f32", &[ValType::I32, ValType::F32]),
        ("print_f64_f64", &[ValType::F64, ValType::F64]),
    ];
    for (name, params) in prints {
        let ty = FuncType {
            params: params.into(),
            results: Box::new([]),
        };
        let f = Func::new(&mut *store, ty, |_, _, _| Ok(()));
        items.push((name.to_string(), f.into()));
    }
    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::F32(666.6f32.to_bits())),
        ("global_f64", Val::F64(666.6f64.to_bits())),
    ];
    for (name, v) in globals {
        let ty = GlobalType {
            content: v.ty(),
            mutable: false,
        };
        let g = Global::new(&mut *store, ty, v)?;
        items.push((name.to_string(), g.into()));
    }
    let table = Table::new(
        &mut *store,
        TableType {
            element: RefType::FUNCREF,
            limits: Limits {
                min: 10,
                max: Some(20),
            },
            index: IndexType::I32,
        },
        Val::FuncRef(None),
    )?;
    items.push(("table".to_string(), table.into()));
    let memory = Memory::new(
        &mut *store,
        MemoryType {
            limits: Limits {
                min: 1,
                max: Some(2),
            },
            index: IndexType::I32,
        },
    )?;
    items.push(("memory".to_string(), memory.into()));
    Ok(items)
}
