//! The `name` section, decoded on demand.

use crate::module::{Module, Names};

impl Module {
    /// The module's `name` section, decoded best-effort (empty if absent or
    /// undecodable: custom sections never make a module invalid). Decoded on
    /// each call.
    pub fn names(&self) -> Names {
        match self.customs.iter().find(|c| c.name == "name") {
            Some(section) => read_names(wasmparser::NameSectionReader::new(
                wasmparser::BinaryReader::new(&section.data, 0),
            )),
            None => Names::default(),
        }
    }
}

/// Decodes the `name` section best-effort: custom sections never make a module invalid.
fn read_names(reader: wasmparser::NameSectionReader<'_>) -> Names {
    let mut names = Names::default();
    for sub in reader {
        let Ok(sub) = sub else { break };
        match sub {
            wasmparser::Name::Module { name, .. } => names.module = Some(name.to_owned()),
            wasmparser::Name::Function(map) => {
                for n in map.into_iter().flatten() {
                    names.funcs.insert(n.index, n.name.to_owned());
                }
            }
            wasmparser::Name::Local(map) => {
                for f in map.into_iter().flatten() {
                    let entry = names.locals.entry(f.index).or_default();
                    for n in f.names.flatten() {
                        entry.insert(n.index, n.name.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use crate::features::Features;
    use crate::module::Names;
    use crate::reader::parse;

    #[test]
    fn names_are_decoded_on_demand() {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend([1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0, 0x0b]);
        // A `name` section: module name "m", function 0 named "f".
        let mut payload = vec![4];
        payload.extend(b"name");
        payload.extend([0, 2, 1, b'm', 1, 4, 1, 0, 1, b'f']);
        bytes.extend([0, u8::try_from(payload.len()).expect("short section")]);
        bytes.extend(payload);
        let module = parse(&bytes, Features::ALL).expect("parses");
        assert_eq!(module.customs.len(), 1);
        let names = module.names();
        assert_eq!(names.module.as_deref(), Some("m"));
        assert_eq!(names.funcs.get(&0).map(String::as_str), Some("f"));
        // The same module without its `name` section (the first 24 bytes).
        let without = parse(&bytes[..24], Features::ALL).expect("parses");
        assert_eq!(without.names(), Names::default());
    }
}
