//! Owner-only files: the store holds each class's credential key (from which a member's
//! credential can be rebuilt), and exports and logs hold the classes' members. A file any
//! local user can read would let one of them report as a teacher, so every file ReplayDesk
//! creates is readable and writable by its owner only, and a store's files left readable
//! by others (by an older version, or a copy) are narrowed when it is opened. On other
//! platforms than Unix the directory's access control applies, and these do nothing.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// The mode every file ReplayDesk creates gets on Unix: read and write for the owner.
pub const OWNER_ONLY: u32 = 0o600;

/// Opens `path` for writing (created, or truncated), owner-only: a file created here is
/// never readable by others, not even for a moment, and an existing one is narrowed.
pub fn create(path: &Path) -> io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(OWNER_ONLY);
    }
    let f = opts.open(path)?;
    narrow_file(&f)?;
    Ok(f)
}

/// As [`create`], appending instead of truncating (a log).
pub fn append(path: &Path) -> io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(OWNER_ONLY);
    }
    let f = opts.open(path)?;
    narrow_file(&f)?;
    Ok(f)
}

/// Writes `contents` to `path` as [`create`] opens it.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> io::Result<()> {
    use std::io::Write as _;
    create(path)?.write_all(contents.as_ref())
}

/// Before SQLite opens the database file `db`: creates it empty and owner-only if it does
/// not exist, and narrows it and its companions (`-wal`, `-shm`, `-journal`) if they do.
/// SQLite gives the companions it creates later the database file's own mode, so they are
/// owner-only too. Returns the files whose mode was narrowed.
pub fn prepare_sqlite(db: &Path) -> io::Result<Vec<PathBuf>> {
    let mut narrowed = Vec::new();
    if !db.exists() {
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                // Let SQLite report the missing directory as it always has.
                return Ok(narrowed);
            }
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(OWNER_ONLY);
        }
        match opts.open(db) {
            Ok(_) => {}
            // Another process made it meanwhile: narrowed below like any existing file.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let path = PathBuf::from(name);
        match narrow_path(&path) {
            Ok(true) => narrowed.push(path),
            Ok(false) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(narrowed)
}

/// Removes the group's and others' access to the open file `f`.
fn narrow_file(f: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = f.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            f.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = f;
    Ok(())
}

/// Removes the group's and others' access to `path`; true if it had any.
fn narrow_path(path: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)?;
        let mode = meta.permissions().mode();
        if meta.is_file() && mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
            return Ok(true);
        }
        Ok(false)
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path)?;
        Ok(false)
    }
}
