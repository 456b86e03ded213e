//! What a saved compilation (an *artifact*) is made of at the byte level, and
//! why loading one can fail: one definition that the JIT (which writes and
//! reads its code section) and the embedding API (which writes and reads the
//! container around it) share.
//!
//! Every number is little-endian; a byte string is a `u64` length followed by
//! its bytes. [`Writer`] appends these, [`Reader`] takes them back and reports
//! [`ArtifactError::Truncated`] instead of reading past the end.

use std::fmt;

/// Why an artifact cannot be loaded. Whatever the reason, nothing of it was
/// executed, and compiling the module again is the remedy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactError {
    /// The bytes do not start with an artifact's magic number.
    NotAnArtifact,
    /// The bytes end before the artifact does.
    Truncated,
    /// The bytes do not match their checksum.
    Corrupted,
    /// Another version of Kiln (or of its code format) wrote it.
    Version {
        /// The version that wrote it.
        found: String,
        /// This build's version.
        expected: String,
    },
    /// It was compiled for another processor, or with other code generator
    /// settings, than this host's.
    Host {
        /// The first setting that differs, as `name=value` in the artifact.
        found: String,
        /// The same setting on this host (`name=value`, or `name` missing).
        expected: String,
    },
    /// It was compiled with other engine settings than the loading engine's
    /// (strategy, fuel, epochs, NaN canonicalisation, guard regions); `what`
    /// names the first that differs.
    Settings {
        /// The setting, with both values.
        what: String,
    },
    /// The checksum holds but the contents contradict themselves (an
    /// artifact written by something other than Kiln).
    Malformed(String),
}

impl fmt::Display for ArtifactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArtifactError::NotAnArtifact => f.write_str("not a Kiln compiled module"),
            ArtifactError::Truncated => f.write_str("compiled module is truncated"),
            ArtifactError::Corrupted => {
                f.write_str("compiled module is corrupted (checksum mismatch)")
            }
            ArtifactError::Version { found, expected } => write!(
                f,
                "compiled module was written by Kiln {found}, this is Kiln {expected}"
            ),
            ArtifactError::Host { found, expected } => write!(
                f,
                "compiled module was built for another processor or code generator settings \
                 ({found}; this host has {expected})"
            ),
            ArtifactError::Settings { what } => write!(
                f,
                "compiled module was built with other engine settings ({what})"
            ),
            ArtifactError::Malformed(what) => write!(f, "compiled module is malformed: {what}"),
        }
    }
}

impl std::error::Error for ArtifactError {}

/// Appends an artifact's numbers and byte strings to a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    /// What has been written so far.
    pub bytes: Vec<u8>,
}

impl Writer {
    /// Appends one byte.
    pub fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }

    /// Appends a `u32`.
    pub fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends a `u64`.
    pub fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends an `i64`.
    pub fn i64(&mut self, v: i64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends a byte string: its length, then its bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.bytes.extend_from_slice(v);
    }

    /// Appends a string as a byte string.
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
}

/// Takes an artifact's numbers and byte strings from the front of a slice.
#[derive(Debug)]
pub struct Reader<'a> {
    /// What is left to read.
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next `n` bytes.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Truncated`] if fewer are left.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], ArtifactError> {
        if n > self.rest.len() {
            return Err(ArtifactError::Truncated);
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    /// The next `N` bytes, as an array.
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ArtifactError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// The next byte.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Truncated`] at the end.
    pub fn u8(&mut self) -> Result<u8, ArtifactError> {
        Ok(self.array::<1>()?[0])
    }

    /// The next `u32`.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Truncated`] if fewer than 4 bytes are left.
    pub fn u32(&mut self) -> Result<u32, ArtifactError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// The next `u64`.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Truncated`] if fewer than 8 bytes are left.
    pub fn u64(&mut self) -> Result<u64, ArtifactError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// The next `i64`.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Truncated`] if fewer than 8 bytes are left.
    pub fn i64(&mut self) -> Result<i64, ArtifactError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// The next byte string.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Truncated`] if it runs past the end.
    pub fn bytes(&mut self) -> Result<&'a [u8], ArtifactError> {
        let n = self.u64()?;
        let n = usize::try_from(n).map_err(|_| ArtifactError::Truncated)?;
        self.take(n)
    }

    /// The next byte string, as UTF-8 text.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Truncated`] if it runs past the end,
    /// [`ArtifactError::Malformed`] if it is not UTF-8.
    pub fn str(&mut self) -> Result<&'a str, ArtifactError> {
        std::str::from_utf8(self.bytes()?)
            .map_err(|_| ArtifactError::Malformed("a name is not UTF-8".into()))
    }

    /// A count of items of at least `item_size` bytes each, refused if the
    /// bytes left cannot hold them (so a forged count cannot make a caller
    /// reserve a huge vector).
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Truncated`] if the items cannot fit.
    pub fn count(&mut self, item_size: usize) -> Result<usize, ArtifactError> {
        let n = usize::try_from(self.u64()?).map_err(|_| ArtifactError::Truncated)?;
        if n.checked_mul(item_size.max(1))
            .is_none_or(|bytes| bytes > self.rest.len())
        {
            return Err(ArtifactError::Truncated);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_was_written() {
        let mut w = Writer::default();
        w.u8(7);
        w.u32(0xdead_beef);
        w.u64(u64::MAX - 1);
        w.i64(-5);
        w.str("kiln");
        w.u64(3);
        let mut r = Reader::new(&w.bytes);
        assert_eq!(r.u8(), Ok(7));
        assert_eq!(r.u32(), Ok(0xdead_beef));
        assert_eq!(r.u64(), Ok(u64::MAX - 1));
        assert_eq!(r.i64(), Ok(-5));
        assert_eq!(r.str(), Ok("kiln"));
        assert_eq!(r.count(1), Err(ArtifactError::Truncated));
        assert!(r.is_empty());
    }

    #[test]
    fn never_reads_past_the_end() {
        let mut w = Writer::default();
        w.u64(1 << 40);
        let mut r = Reader::new(&w.bytes);
        assert_eq!(r.bytes(), Err(ArtifactError::Truncated));
        assert_eq!(Reader::new(&[1, 2, 3]).u32(), Err(ArtifactError::Truncated));
        let mut w = Writer::default();
        w.u64(u64::MAX);
        assert_eq!(
            Reader::new(&w.bytes).count(16),
            Err(ArtifactError::Truncated)
        );
    }
}
