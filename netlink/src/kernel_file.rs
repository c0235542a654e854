//! Small files the kernel generates (sysfs attributes, sysctls under
//! `/proc/sys`): at most a page, returned whole by the first `read`.

use std::io::Read;
use std::path::Path;

/// Reads such a file with one `read` and no `stat` before it (what
/// `fs::read_to_string` adds: two system calls per file, several per
/// interface at every start).
pub fn read(path: &Path) -> std::io::Result<String> {
    let mut buf = [0u8; 4096];
    let n = std::fs::File::open(path)?.read(&mut buf)?;
    String::from_utf8(buf[..n].to_vec())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}
