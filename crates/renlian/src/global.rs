//! Options that come before any subcommand: where the data lives.

use std::path::PathBuf;

use clap::Args;

#[derive(Args, Clone, Debug)]
pub struct GlobalOpts {
    /// Directory for the embedded database and other state.
    #[arg(long, global = false, env = "RENLIAN_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite://PATH` (default: `DATA_DIR/renlian.db`) or `postgres://…`.
    #[arg(long, env = "RENLIAN_DATABASE", value_name = "URL")]
    pub database: Option<String>,
}

impl GlobalOpts {
    /// The data directory: `--data-dir`, else `$XDG_DATA_HOME/renlian`, else `~/.local/share/renlian`.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        if let Some(xdg) = std::env::var_os("XDG_DATA_HOME") {
            return PathBuf::from(xdg).join("renlian");
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        home.join(".local/share/renlian")
    }

    /// The database URL: `--database`, else the embedded SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir().join("renlian.db").display()),
        }
    }
}
