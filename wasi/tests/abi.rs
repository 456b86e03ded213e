//! The preview1 ABI through hand-written modules (no C compiler needed):
//! every function links with the spec's signature; bad pointers are EFAULT,
//! unknown descriptors EBADF, unimplemented functions ENOSYS; `proc_exit`
//! ends the call with its status; nothing panics or traps.

use kiln::{Engine, Linker, Memory, Module, Store, Trap, Val};
use kiln_wasi::{Errno, OutputBuffer, WasiCtx, WasiCtxBuilder};

/// Every `wasi_snapshot_preview1` function with its core signature, as the
/// witx definitions give them (written out here independently of the crate).
const PREVIEW1: &[(&str, &str, &str)] = &[
    ("args_get", "i32 i32", "i32"),
    ("args_sizes_get", "i32 i32", "i32"),
    ("environ_get", "i32 i32", "i32"),
    ("environ_sizes_get", "i32 i32", "i32"),
    ("clock_res_get", "i32 i32", "i32"),
    ("clock_time_get", "i32 i64 i32", "i32"),
    ("fd_advise", "i32 i64 i64 i32", "i32"),
    ("fd_allocate", "i32 i64 i64", "i32"),
    ("fd_close", "i32", "i32"),
    ("fd_datasync", "i32", "i32"),
    ("fd_fdstat_get", "i32 i32", "i32"),
    ("fd_fdstat_set_flags", "i32 i32", "i32"),
    ("fd_fdstat_set_rights", "i32 i64 i64", "i32"),
    ("fd_filestat_get", "i32 i32", "i32"),
    ("fd_filestat_set_size", "i32 i64", "i32"),
    ("fd_filestat_set_times", "i32 i64 i64 i32", "i32"),
    ("fd_pread", "i32 i32 i32 i64 i32", "i32"),
    ("fd_prestat_get", "i32 i32", "i32"),
    ("fd_prestat_dir_name", "i32 i32 i32", "i32"),
    ("fd_pwrite", "i32 i32 i32 i64 i32", "i32"),
    ("fd_read", "i32 i32 i32 i32", "i32"),
    ("fd_readdir", "i32 i32 i32 i64 i32", "i32"),
    ("fd_renumber", "i32 i32", "i32"),
    ("fd_seek", "i32 i64 i32 i32", "i32"),
    ("fd_sync", "i32", "i32"),
    ("fd_tell", "i32 i32", "i32"),
    ("fd_write", "i32 i32 i32 i32", "i32"),
    ("path_create_directory", "i32 i32 i32", "i32"),
    ("path_filestat_get", "i32 i32 i32 i32 i32", "i32"),
    (
        "path_filestat_set_times",
        "i32 i32 i32 i32 i64 i64 i32",
        "i32",
    ),
    ("path_link", "i32 i32 i32 i32 i32 i32 i32", "i32"),
    ("path_open", "i32 i32 i32 i32 i32 i64 i64 i32 i32", "i32"),
    ("path_readlink", "i32 i32 i32 i32 i32 i32", "i32"),
    ("path_remove_directory", "i32 i32 i32", "i32"),
    ("path_rename", "i32 i32 i32 i32 i32 i32", "i32"),
    ("path_symlink", "i32 i32 i32 i32 i32", "i32"),
    ("path_unlink_file", "i32 i32 i32", "i32"),
    ("poll_oneoff", "i32 i32 i32 i32", "i32"),
    ("proc_exit", "i32", ""),
    ("proc_raise", "i32", "i32"),
    ("sched_yield", "", "i32"),
    ("random_get", "i32 i32", "i32"),
    ("sock_accept", "i32 i32 i32", "i32"),
    ("sock_recv", "i32 i32 i32 i32 i32 i32", "i32"),
    ("sock_send", "i32 i32 i32 i32 i32", "i32"),
    ("sock_shutdown", "i32 i32", "i32"),
];

/// A module importing every preview1 function and exporting, for each, a
/// wrapper `call_NAME` with the same signature (so the calls come from the
/// instance and see its memory). `memory` is the memory declaration, or ""
/// for a module without one.
fn module_text(memory: &str) -> String {
    let mut imports = String::new();
    let mut wrappers = String::new();
    for (name, params, results) in PREVIEW1 {
        let param = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                format!("(param {s})")
            }
        };
        let result = if results.is_empty() {
            String::new()
        } else {
            format!("(result {results})")
        };
        imports.push_str(&format!(
            "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} {} {result}))\n",
            param(params)
        ));
        let gets: String = (0..params.split_whitespace().count())
            .map(|i| format!("(local.get {i}) "))
            .collect();
        wrappers.push_str(&format!(
            "  (func (export \"call_{name}\") {} {result} (call ${name} {gets}))\n",
            param(params)
        ));
    }
    format!("(module\n{imports}{memory}\n{wrappers})")
}

struct Guest {
    store: Store<WasiCtx>,
    instance: kiln::Instance,
}

impl Guest {
    fn new(memory: &str, configure: impl FnOnce(&mut WasiCtxBuilder)) -> Guest {
        let engine = Engine::default();
        let module = Module::new(&engine, module_text(memory)).expect("module");
        let mut linker = Linker::new(&engine);
        kiln_wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx).expect("define WASI");
        let mut builder = WasiCtx::builder();
        configure(&mut builder);
        let mut store = Store::new(&engine, builder.build().expect("context"));
        let instance = linker
            .instantiate(&mut store, &module)
            .expect("instantiate");
        Guest { store, instance }
    }

    fn with_memory(configure: impl FnOnce(&mut WasiCtxBuilder)) -> Guest {
        Guest::new("(memory (export \"memory\") 1)", configure)
    }

    /// Calls `call_NAME` with i32/i64 arguments; returns the errno.
    fn call(&mut self, name: &str, args: &[Val]) -> Result<i32, kiln::Error> {
        let f = self
            .instance
            .get_func(&self.store, &format!("call_{name}"))
            .expect("wrapper");
        let mut results = [Val::I32(-1)];
        f.call(&mut self.store, args, &mut results)?;
        match results[0] {
            Val::I32(v) => Ok(v),
            ref v => panic!("unexpected result {v:?}"),
        }
    }

    fn errno(&mut self, name: &str, args: &[Val]) -> i32 {
        self.call(name, args).expect("no trap")
    }

    fn memory(&self) -> Memory {
        self.instance
            .get_memory(&self.store, "memory")
            .expect("memory")
    }

    fn write(&mut self, at: usize, bytes: &[u8]) {
        let m = self.memory();
        m.write(&mut self.store, at, bytes).expect("write");
    }

    fn read(&self, at: usize, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.memory().read(&self.store, at, &mut buf).expect("read");
        buf
    }

    fn u32_at(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.read(at, 4).try_into().expect("4 bytes"))
    }
}

fn i32s(v: &[i32]) -> Vec<Val> {
    v.iter().map(|&x| Val::I32(x)).collect()
}

const FAULT: i32 = Errno::Fault as i32;
const BADF: i32 = Errno::BadF as i32;
const NOSYS: i32 = Errno::NoSys as i32;
const INVAL: i32 = Errno::Inval as i32;

#[test]
fn every_preview1_function_links_with_its_spec_signature() {
    let names: Vec<&str> = kiln_wasi::function_names().collect();
    assert_eq!(names.len(), PREVIEW1.len());
    for (name, _, _) in PREVIEW1 {
        assert!(names.contains(name), "{name} is not defined");
    }
    // Instantiating checks each import's type against the definition.
    Guest::with_memory(|_| {});
}

#[test]
fn unimplemented_functions_return_enosys() {
    let mut g = Guest::with_memory(|_| {});
    assert_eq!(g.errno("sock_accept", &i32s(&[3, 0, 0])), NOSYS);
    assert_eq!(g.errno("sock_shutdown", &i32s(&[3, 0])), NOSYS);
    assert_eq!(g.errno("sock_recv", &i32s(&[3, 0, 0, 0, 0, 0])), NOSYS);
    assert_eq!(g.errno("sock_send", &i32s(&[3, 0, 0, 0, 0])), NOSYS);
    assert_eq!(g.errno("proc_raise", &i32s(&[9])), NOSYS);
}

#[test]
fn bad_pointers_are_efault() {
    let out = OutputBuffer::new();
    let mut g = Guest::with_memory(|b| {
        b.args(["prog", "arg"]).stdout(out.clone());
    });
    let end = 65536;
    assert_eq!(g.errno("args_sizes_get", &i32s(&[end, 0])), FAULT);
    assert_eq!(g.errno("args_sizes_get", &i32s(&[0, end - 3])), FAULT);
    assert_eq!(g.errno("args_get", &i32s(&[end - 4, 0])), FAULT);
    assert_eq!(g.errno("args_get", &i32s(&[0, end - 6])), FAULT);
    assert_eq!(g.errno("random_get", &i32s(&[end - 8, 9])), FAULT);
    assert_eq!(g.errno("random_get", &i32s(&[-1, -1])), FAULT);
    assert_eq!(
        g.errno("clock_time_get", &[Val::I32(0), Val::I64(0), Val::I32(-4)]),
        FAULT
    );
    // An iovec table past the end, and an iovec whose buffer is.
    assert_eq!(g.errno("fd_write", &i32s(&[1, end - 4, 1, 0])), FAULT);
    assert_eq!(g.errno("fd_write", &i32s(&[1, 0, 0x2000_0000, 0])), FAULT);
    g.write(0, &[16, 0, 0, 0, 0xff, 0xff, 0, 0]);
    assert_eq!(g.errno("fd_write", &i32s(&[1, 0, 1, 64])), FAULT);
    // The same call with a sane buffer works.
    g.write(0, &[16, 0, 0, 0, 2, 0, 0, 0]);
    g.write(16, b"ok");
    assert_eq!(g.errno("fd_write", &i32s(&[1, 0, 1, 64])), 0);
    assert_eq!(g.u32_at(64), 2);
    assert_eq!(out.contents(), b"ok");
    // A bad result pointer fails the call before anything is written.
    assert_eq!(g.errno("fd_write", &i32s(&[1, 0, 1, end])), FAULT);
    assert_eq!(out.contents(), b"ok");
}

#[test]
fn a_module_without_memory_gets_efault_not_a_trap() {
    let mut g = Guest::new("", |_| {});
    assert_eq!(g.errno("args_sizes_get", &i32s(&[0, 4])), FAULT);
    assert_eq!(g.errno("fd_write", &i32s(&[1, 0, 0, 0])), FAULT);
    assert_eq!(g.errno("sched_yield", &[]), 0);
    assert_eq!(g.errno("fd_close", &i32s(&[1])), 0);
}

#[test]
fn unknown_descriptors_are_ebadf() {
    let mut g = Guest::with_memory(|_| {});
    assert_eq!(g.errno("fd_write", &i32s(&[99, 0, 0, 0])), BADF);
    assert_eq!(g.errno("fd_read", &i32s(&[-1, 0, 0, 0])), BADF);
    assert_eq!(g.errno("fd_close", &i32s(&[3])), BADF);
    // Not a preopen: how wasi-libc finds the end of the preopens.
    assert_eq!(g.errno("fd_prestat_get", &i32s(&[0, 0])), BADF);
    assert_eq!(g.errno("fd_prestat_get", &i32s(&[3, 0])), BADF);
    // A path call on a stream.
    g.write(0, b"x");
    assert_eq!(
        g.errno("path_create_directory", &i32s(&[1, 0, 1])),
        Errno::NotDir as i32
    );
    assert_eq!(g.errno("fd_close", &i32s(&[2])), 0);
    assert_eq!(g.errno("fd_close", &i32s(&[2])), BADF);
}

#[test]
fn proc_exit_ends_the_call_with_its_status() {
    let mut g = Guest::with_memory(|_| {});
    let f = g
        .instance
        .get_func(&g.store, "call_proc_exit")
        .expect("wrapper");
    let err = f
        .call(&mut g.store, &[Val::I32(7)], &mut [])
        .expect_err("proc_exit does not return");
    assert_eq!(err.trap().and_then(Trap::exit_status), Some(7));
}

#[test]
fn arguments_environment_and_sizes() {
    let mut g = Guest::with_memory(|b| {
        b.args(["prog", "a b"]).env("K", "v");
    });
    assert_eq!(g.errno("args_sizes_get", &i32s(&[0, 4])), 0);
    assert_eq!((g.u32_at(0), g.u32_at(4)), (2, 9));
    assert_eq!(g.errno("args_get", &i32s(&[100, 200])), 0);
    assert_eq!((g.u32_at(100), g.u32_at(104)), (200, 205));
    assert_eq!(g.read(200, 9), b"prog\0a b\0");
    assert_eq!(g.errno("environ_sizes_get", &i32s(&[0, 4])), 0);
    assert_eq!((g.u32_at(0), g.u32_at(4)), (1, 4));
    assert_eq!(g.errno("environ_get", &i32s(&[100, 300])), 0);
    assert_eq!(g.read(300, 4), b"K=v\0");
}

#[test]
fn clocks_and_poll() {
    let mut g = Guest::with_memory(|_| {});
    assert_eq!(
        g.errno("clock_time_get", &[Val::I32(9), Val::I64(0), Val::I32(0)]),
        INVAL
    );
    assert_eq!(g.errno("clock_res_get", &i32s(&[1, 0])), 0);
    // One relative clock subscription of 1ms, userdata 0x55.
    let mut sub = [0u8; 48];
    sub[0] = 0x55;
    sub[24..32].copy_from_slice(&1_000_000u64.to_le_bytes());
    sub[16] = 1; // monotonic
    g.write(0, &sub);
    assert_eq!(g.errno("poll_oneoff", &i32s(&[0, 100, 1, 200])), 0);
    assert_eq!(g.u32_at(200), 1);
    let event = g.read(100, 32);
    assert_eq!((event[0], event[8], event[10]), (0x55, 0, 0));
    assert_eq!(g.errno("poll_oneoff", &i32s(&[0, 100, 0, 200])), INVAL);
    assert_eq!(g.errno("poll_oneoff", &i32s(&[65530, 100, 1, 200])), FAULT);
    assert_eq!(g.errno("sched_yield", &[]), 0);
}

#[test]
fn readdir_cuts_the_last_entry_to_the_buffer() {
    let dir = std::env::temp_dir().join(format!("kiln-wasi-readdir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("a_file"), "").expect("write");
    let mut g = Guest::with_memory(|b| {
        b.preopened_dir(&dir, "/d").expect("preopen");
    });
    let readdir = |g: &mut Guest, len: i32, cookie: i64| {
        let errno = g.errno(
            "fd_readdir",
            &[
                Val::I32(3),
                Val::I32(1000),
                Val::I32(len),
                Val::I64(cookie),
                Val::I32(0),
            ],
        );
        assert_eq!(errno, 0);
        g.u32_at(0)
    };
    // Everything: ".", "..", "a_file" (24-byte headers plus names).
    assert_eq!(readdir(&mut g, 4096, 0), 24 + 1 + 24 + 2 + 24 + 6);
    assert_eq!(g.read(1000 + 24, 1), b".");
    // A buffer too small is filled completely: the guest asks again.
    assert_eq!(readdir(&mut g, 30, 0), 30);
    // From cookie 2 (after "." and ".."), only the file.
    assert_eq!(readdir(&mut g, 4096, 2), 30);
    assert_eq!(g.read(1000 + 24, 6), b"a_file");
    assert_eq!(readdir(&mut g, 4096, 3), 0);
    // The preopen's name.
    assert_eq!(g.errno("fd_prestat_get", &i32s(&[3, 0])), 0);
    assert_eq!((g.read(0, 1)[0], g.u32_at(4)), (0, 2));
    assert_eq!(
        g.errno("fd_prestat_dir_name", &i32s(&[3, 16, 1])),
        Errno::NameTooLong as i32
    );
    assert_eq!(g.errno("fd_prestat_dir_name", &i32s(&[3, 16, 2])), 0);
    assert_eq!(g.read(16, 2), b"/d");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A scratch directory for one test, removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("kiln-wasi-abi-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Guest {
    /// Writes `path` at `at` and returns `(ptr, len)` arguments for it.
    fn path(&mut self, at: i32, path: &str) -> [Val; 2] {
        self.write(at as usize, path.as_bytes());
        [Val::I32(at), Val::I32(path.len() as i32)]
    }

    /// `path_open(dir, path)` for reading (following symlinks): the errno,
    /// and the new descriptor on success.
    fn open(&mut self, dir: i32, path: &str, oflags: i32) -> (i32, u32) {
        let [ptr, len] = self.path(2000, path);
        let errno = self.errno(
            "path_open",
            &[
                Val::I32(dir),
                Val::I32(1),
                ptr,
                len,
                Val::I32(oflags),
                Val::I64(2), // FD_READ
                Val::I64(0),
                Val::I32(0),
                Val::I32(0),
            ],
        );
        (errno, self.u32_at(0))
    }

    /// A call taking `(fd, path, len)`, like `path_create_directory`.
    fn on_path(&mut self, name: &str, dir: i32, path: &str) -> i32 {
        let [ptr, len] = self.path(2000, path);
        self.errno(name, &[Val::I32(dir), ptr, len])
    }

    /// `path_rename(dir, from, dir, to)`.
    fn rename(&mut self, dir: i32, from: &str, to: &str) -> i32 {
        let [fp, fl] = self.path(2000, from);
        let [tp, tl] = self.path(3000, to);
        self.errno(
            "path_rename",
            &[Val::I32(dir), fp, fl, Val::I32(dir), tp, tl],
        )
    }

    /// `path_symlink(target, dir, link)`.
    fn symlink(&mut self, target: &str, dir: i32, link: &str) -> i32 {
        let [tp, tl] = self.path(2000, target);
        let [lp, ll] = self.path(3000, link);
        self.errno("path_symlink", &[tp, tl, Val::I32(dir), lp, ll])
    }
}

const NOTCAPABLE: i32 = Errno::NotCapable as i32;

#[test]
fn a_directory_descriptor_cannot_be_redirected_through_a_symlink() {
    let scratch = Scratch::new("redirect");
    let granted = scratch.0.join("box");
    std::fs::create_dir_all(granted.join("a/b")).expect("mkdir");
    // Outside the box: t/b, where an unchecked descriptor path would lead.
    std::fs::create_dir_all(scratch.0.join("t/b")).expect("mkdir");
    let mut g = Guest::with_memory(|b| {
        b.preopened_dir(&granted, "/box").expect("preopen");
    });
    // A link that stays inside where it is made: a/b/../../t is box/t.
    assert_eq!(g.symlink("../../t", 3, "a/b/l"), 0);
    let (errno, fd) = g.open(3, "a/b", 2);
    assert_eq!(errno, 0);
    // Move b up a level (its link now points out of the box) and put a
    // symlink where `a` was, so that a descriptor that stood for the path
    // `a/b` would now walk into it.
    assert_eq!(g.rename(3, "a/b", "b"), 0);
    assert_eq!(g.rename(3, "a", "a_old"), 0);
    assert_eq!(g.symlink("b/l", 3, "a"), 0);
    // The descriptor holds the directory itself, so it follows b to its new
    // place inside the box and never walks the link.
    assert_eq!(g.open(fd as i32, "x", 0).0, Errno::NoEnt as i32);
    assert_eq!(g.on_path("path_create_directory", fd as i32, "made"), 0);
    assert!(granted.join("b/made").is_dir());
    // Kiln itself never follows the escaping link.
    assert_eq!(g.open(3, "b/l", 0).0, NOTCAPABLE);
    assert_eq!(g.open(3, "a/x", 0).0, NOTCAPABLE);
    assert!(!scratch.0.join("t/b/made").exists());
}

#[test]
fn moving_a_symlink_must_keep_it_inside() {
    let scratch = Scratch::new("move-link");
    let granted = scratch.0.join("box");
    std::fs::create_dir_all(granted.join("d")).expect("mkdir");
    let mut g = Guest::with_memory(|b| {
        b.preopened_dir(&granted, "/box").expect("preopen");
    });
    assert_eq!(g.symlink("../x", 3, "d/up"), 0);
    assert_eq!(g.symlink("../x", 3, "up"), NOTCAPABLE);
    // From d/ the link means box/x; from the top it would mean ../x.
    assert_eq!(g.rename(3, "d/up", "up"), NOTCAPABLE);
    let [fp, fl] = g.path(2000, "d/up");
    let [tp, tl] = g.path(3000, "up");
    let link = g.errno(
        "path_link",
        &[Val::I32(3), Val::I32(0), fp, fl, Val::I32(3), tp, tl],
    );
    assert_eq!(link, NOTCAPABLE);
    assert_eq!(g.rename(3, "d/up", "d/up2"), 0);
    assert!(std::fs::symlink_metadata(granted.join("d/up2")).is_ok());
    assert!(std::fs::symlink_metadata(granted.join("up")).is_err());
}

/// The `path_*` and directory `fd_*` calls through held directory handles:
/// symlink-follow flags, a trailing `/`, a symlink's own times, a link made
/// through a symlink, and symlink targets checked from a subdirectory's
/// descriptor.
#[test]
fn path_calls_through_held_directories() {
    use std::os::unix::fs::MetadataExt;
    const LOOP: i32 = Errno::Loop as i32;
    let scratch = Scratch::new("held");
    let granted = scratch.0.join("box");
    std::fs::create_dir_all(granted.join("d")).expect("mkdir");
    std::fs::write(granted.join("f"), "f").expect("write");
    for (target, link) in [("f", "lf"), ("d", "ld"), ("/etc/passwd", "abs")] {
        std::os::unix::fs::symlink(target, granted.join(link)).expect("symlink");
    }
    let mut g = Guest::with_memory(|b| {
        b.preopened_dir(&granted, "/box").expect("preopen");
    });
    // path_filestat_get(3, flags, path) into 500: the file type at 516.
    let filetype = |g: &mut Guest, flags: i32, path: &str| {
        let [ptr, len] = g.path(2000, path);
        let errno = g.errno(
            "path_filestat_get",
            &[Val::I32(3), Val::I32(flags), ptr, len, Val::I32(500)],
        );
        (errno, g.read(516, 1)[0])
    };
    assert_eq!(filetype(&mut g, 0, "lf"), (0, 7)); // the link itself
    assert_eq!(filetype(&mut g, 1, "lf"), (0, 4)); // the file
    assert_eq!(filetype(&mut g, 0, "ld/"), (0, 3)); // `/` follows
    assert_eq!(filetype(&mut g, 1, "abs").0, NOTCAPABLE);
    assert_eq!(g.open(3, "ld", 2).0, 0);
    let [ptr, len] = g.path(2000, "lf");
    let nofollow = [
        Val::I32(3),
        Val::I32(0),
        ptr,
        len,
        Val::I32(0),
        Val::I64(2),
        Val::I64(0),
        Val::I32(0),
        Val::I32(0),
    ];
    assert_eq!(g.errno("path_open", &nofollow), LOOP);

    // An absolute target can be read, though never followed.
    let [ptr, len] = g.path(2000, "abs");
    let args = [
        Val::I32(3),
        ptr,
        len,
        Val::I32(600),
        Val::I32(64),
        Val::I32(0),
    ];
    assert_eq!(g.errno("path_readlink", &args), 0);
    assert_eq!(g.read(600, g.u32_at(0) as usize), b"/etc/passwd");

    // A symlink's own modification time (fst_flags MTIM = 4), then the file's.
    let set_mtime = |g: &mut Guest, flags: i32, secs: i64| {
        let [ptr, len] = g.path(2000, "lf");
        let ns = Val::I64(secs * 1_000_000_000);
        let args = [
            Val::I32(3),
            Val::I32(flags),
            ptr,
            len,
            Val::I64(0),
            ns,
            Val::I32(4),
        ];
        g.errno("path_filestat_set_times", &args)
    };
    assert_eq!(set_mtime(&mut g, 0, 1000), 0);
    assert_eq!(set_mtime(&mut g, 1, 2000), 0);
    let lstat = std::fs::symlink_metadata(granted.join("lf")).expect("lstat");
    let stat = std::fs::metadata(granted.join("f")).expect("stat");
    assert_eq!((lstat.mtime(), stat.mtime()), (1000, 2000));

    // A link made through a symlink with SYMLINK_FOLLOW is the file's.
    let [fp, fl] = g.path(2000, "lf");
    let [tp, tl] = g.path(3000, "hard");
    let args = [Val::I32(3), Val::I32(1), fp, fl, Val::I32(3), tp, tl];
    assert_eq!(g.errno("path_link", &args), 0);
    let hard = std::fs::symlink_metadata(granted.join("hard")).expect("lstat");
    assert_eq!(hard.ino(), stat.ino());

    // Through a subdirectory's descriptor: its depth counts for targets, and
    // the directory calls that need it open for reading work.
    let (errno, d) = g.open(3, "d", 2);
    assert_eq!(errno, 0);
    let d = d as i32;
    assert_eq!(g.symlink("../f", d, "up"), 0);
    assert_eq!(g.symlink("../../f", d, "out"), NOTCAPABLE);
    assert_eq!(g.errno("fd_sync", &i32s(&[d])), 0);
    let times = [
        Val::I32(d),
        Val::I64(0),
        Val::I64(5_000_000_000),
        Val::I32(4),
    ];
    assert_eq!(g.errno("fd_filestat_set_times", &times), 0);
    let meta = std::fs::metadata(granted.join("d")).expect("stat");
    assert_eq!(meta.mtime(), 5);
    assert_eq!(g.errno("fd_filestat_get", &i32s(&[d, 500])), 0);
    assert_eq!(g.read(508, 8), meta.ino().to_le_bytes());
    let readdir = [
        Val::I32(d),
        Val::I32(1000),
        Val::I32(4096),
        Val::I64(0),
        Val::I32(0),
    ];
    assert_eq!(g.errno("fd_readdir", &readdir), 0);
    // ".", ".." and "up" (24-byte headers plus names).
    assert_eq!(g.u32_at(0), 24 + 1 + 24 + 2 + 24 + 2);
    // `..` reports the parent's inode.
    let parent = std::fs::metadata(&granted).expect("stat").ino();
    assert_eq!(g.read(1000 + 25 + 8, 8), parent.to_le_bytes());
}

/// What the guest got from one open in [`a_swapped_directory_never_leads_out`].
#[derive(Debug, Default)]
struct RaceTally {
    attempts: u64,
    read_inside: u64,
    refused: u64,
    other_errors: u64,
    leaked: u64,
}

impl Guest {
    /// Opens `path` in `dir` (following symlinks), reads up to 64 bytes and
    /// closes it: the errno, and the bytes on success.
    fn open_and_read(&mut self, dir: i32, path: &str) -> (i32, Vec<u8>) {
        let (errno, fd) = self.open(dir, path, 0);
        if errno != 0 {
            return (errno, Vec::new());
        }
        // One iovec at 100: 64 bytes at 200; the count lands at 96.
        self.write(100, &[200, 0, 0, 0, 64, 0, 0, 0]);
        let read = self.errno("fd_read", &i32s(&[fd as i32, 100, 1, 96]));
        assert_eq!(read, 0, "fd_read");
        let bytes = self.read(200, self.u32_at(96) as usize);
        assert_eq!(self.errno("fd_close", &i32s(&[fd as i32])), 0);
        (errno, bytes)
    }
}

/// A host thread keeps swapping a granted directory for a symlink that
/// leads out of the grant (and back), while the guest opens files through
/// it: no open ever yields a file outside. A path-checking sandbox loses
/// this race (the check sees the directory, the open follows the link);
/// resolving beneath a held handle cannot.
#[test]
fn a_swapped_directory_never_leads_out() {
    use std::time::{Duration, Instant};

    const SECRET: &[u8] = b"the secret";
    let scratch = Scratch::new("swap-race");
    let granted = scratch.0.join("box");
    let outside = scratch.0.join("outside");
    std::fs::create_dir_all(granted.join("sub")).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(granted.join("sub/inside"), "inside").expect("write");
    // The secret under both names the guest opens.
    std::fs::write(outside.join("outside"), SECRET).expect("write");
    std::fs::write(outside.join("inside"), SECRET).expect("write");
    let mut g = Guest::with_memory(|b| {
        b.preopened_dir(&granted, "/box").expect("preopen");
    });

    let swapper = {
        let (sub, aside) = (granted.join("sub"), granted.join("sub.real"));
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut swaps = 0u64;
            while swaps < 200_000 && start.elapsed() < Duration::from_secs(2) {
                std::fs::rename(&sub, &aside).expect("move sub aside");
                // Alternately an absolute link and a relative one.
                let target = if swaps.is_multiple_of(2) {
                    outside.clone()
                } else {
                    "../outside".into()
                };
                std::os::unix::fs::symlink(&target, &sub).expect("plant the link");
                std::fs::remove_file(&sub).expect("remove the link");
                std::fs::rename(&aside, &sub).expect("put sub back");
                swaps += 1;
            }
            swaps
        })
    };

    let mut tally = RaceTally::default();
    while !swapper.is_finished() {
        for path in ["sub/inside", "sub/outside"] {
            tally.attempts += 1;
            match g.open_and_read(3, path) {
                (0, bytes) if bytes == SECRET => tally.leaked += 1,
                (0, bytes) => {
                    assert_eq!(bytes, b"inside", "{path}");
                    tally.read_inside += 1;
                }
                (NOTCAPABLE, _) => tally.refused += 1,
                _ => tally.other_errors += 1,
            }
        }
    }
    let swaps = swapper.join().expect("the swapping thread");
    assert_eq!(tally.leaked, 0, "a guest open left the grant: {tally:?}");
    // Not vacuous: many opens raced many swaps, and both states were seen.
    assert!(swaps >= 100, "{swaps} swaps");
    assert!(tally.attempts >= 1000, "{tally:?}");
    assert!(tally.read_inside > 0, "{tally:?}");
    assert!(tally.refused > 0, "{tally:?}");
    eprintln!("{swaps} swaps, {tally:?}");
}

#[test]
fn contexts_can_move_between_threads() {
    fn is_send<T: Send>() {}
    is_send::<WasiCtx>();
    is_send::<OutputBuffer>();
}
