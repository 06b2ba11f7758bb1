//! Named child processes: started with their output in `<dir>/<name>.log` (and, when echoing,
//! on the terminal behind a `name |` prefix), checked for liveness, stopped cleanly (SIGTERM, then
//! SIGKILL after a grace period) one by one or all together (reverse start order, also on drop),
//! killed hard (SIGKILL, a crash) and restarted with the same command.

use eyre::{Result, WrapErr, eyre};
use rustix::process::{Pid, Signal, kill_process};
use std::{
    collections::BTreeMap,
    fs::File,
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// How long [`Supervisor::stop`] waits after SIGTERM before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

/// What to run: a program, its arguments and extra environment.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables (the supervisor's own environment is inherited, without
    /// `DATABASE_URL`: every service gets its database by flag).
    pub envs: Vec<(String, String)>,
}

impl Spec {
    /// `program` with `args` and no extra environment.
    pub fn new<S: AsRef<str>>(program: impl Into<PathBuf>, args: &[S]) -> Self {
        Self {
            program: program.into(),
            args: args.iter().map(|a| a.as_ref().to_string()).collect(),
            envs: Vec::new(),
        }
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }
}

struct Running {
    child: Child,
    spec: Spec,
    pumps: Vec<JoinHandle<()>>,
}

/// A set of named processes (see the module docs). Dropping it stops them all.
pub struct Supervisor {
    dir: PathBuf,
    echo: bool,
    running: BTreeMap<String, Running>,
    /// Start order of the running processes (stopped in reverse).
    order: Vec<String>,
}

impl Supervisor {
    /// Processes logging to `dir` (created); `echo` also prints their lines, prefixed.
    pub fn new(dir: &Path, echo: bool) -> Result<Self> {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            echo,
            running: BTreeMap::new(),
            order: Vec::new(),
        })
    }

    /// The log file of process `name`.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }

    /// Starts `spec` as process `name` (appending to its log).
    pub fn spawn(&mut self, name: &str, spec: Spec) -> Result<()> {
        eyre::ensure!(
            !self.running.contains_key(name),
            "{name} is already running"
        );
        let log = Arc::new(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log_path(name))?,
        ));
        let mut child = Command::new(&spec.program)
            .args(&spec.args)
            .envs(spec.envs.iter().map(|(k, v)| (k, v)))
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .wrap_err_with(|| format!("starting {name} ({})", spec.program.display()))?;
        let mut pumps = Vec::new();
        if let Some(out) = child.stdout.take() {
            pumps.push(pump(name, out, log.clone(), self.echo));
        }
        if let Some(err) = child.stderr.take() {
            pumps.push(pump(name, err, log, self.echo));
        }
        self.running
            .insert(name.to_string(), Running { child, spec, pumps });
        self.order.push(name.to_string());
        Ok(())
    }

    /// Adopts an already running child's output (anvil, started by alloy's node bindings):
    /// its stdout is pumped into `<name>.log`. The child itself stays owned by the caller.
    pub fn adopt_output(&self, name: &str, out: impl Read + Send + 'static) -> Result<()> {
        let log = Arc::new(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log_path(name))?,
        ));
        // Detached: it ends when the child's stdout closes.
        drop(pump(name, out, log, self.echo));
        Ok(())
    }

    /// Whether process `name` was started and not stopped (it may have exited since).
    pub fn contains(&self, name: &str) -> bool {
        self.running.contains_key(name)
    }

    /// Pid of process `name`.
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.running.get(name).map(|r| r.child.id())
    }

    /// Pids and names of every started process.
    pub fn pids(&self) -> Vec<(u32, String)> {
        self.order
            .iter()
            .filter_map(|n| Some((self.pid(n)?, n.clone())))
            .collect()
    }

    fn take(&mut self, name: &str) -> Result<Running> {
        self.order.retain(|n| n != name);
        self.running
            .remove(name)
            .ok_or_else(|| eyre!("{name} is not running"))
    }

    /// Kills process `name` with SIGKILL (no shutdown path runs: a crash) and reaps it.
    pub fn kill(&mut self, name: &str) -> Result<Spec> {
        let mut r = self.take(name)?;
        let _ = r.child.kill();
        r.child.wait()?;
        join(r.pumps);
        Ok(r.spec)
    }

    /// Stops process `name`: SIGTERM, then SIGKILL if it is still running after [`GRACE`].
    pub fn stop(&mut self, name: &str) -> Result<Spec> {
        let mut r = self.take(name)?;
        terminate(&mut [&mut r.child]);
        join(r.pumps);
        Ok(r.spec)
    }

    /// Stops process `name` ([`Self::stop`]) and starts it again with the same command.
    pub fn restart(&mut self, name: &str) -> Result<()> {
        let spec = self.stop(name)?;
        self.spawn(name, spec)
    }

    /// Fails naming the first process that exited by itself, with its exit status and last log
    /// lines.
    pub fn check_alive(&mut self) -> Result<()> {
        for name in self.order.clone() {
            let r = self.running.get_mut(&name).expect("listed processes run");
            if let Some(status) = r.child.try_wait()? {
                return Err(eyre!(
                    "{name} exited ({status}); last lines of {}:\n{}",
                    self.log_path(&name).display(),
                    tail(&self.log_path(&name), 20)
                ));
            }
        }
        Ok(())
    }

    /// The last `lines` lines of every log in the directory, for failure messages.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = format!("logs in {}:", self.dir.display());
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return out;
        };
        let mut logs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        logs.sort();
        for p in logs {
            out.push_str(&format!(
                "\n--- {} (last {lines} lines)\n{}",
                p.file_name().unwrap_or_default().to_string_lossy(),
                tail(&p, lines)
            ));
        }
        out
    }

    /// Stops every process: SIGTERM to all (newest first), SIGKILL to those still running after
    /// [`GRACE`]. Returns how many were stopped.
    pub fn shutdown(&mut self) -> usize {
        let names: Vec<String> = self.order.drain(..).rev().collect();
        let mut stopped: Vec<Running> = names
            .iter()
            .filter_map(|n| self.running.remove(n))
            .collect();
        let mut children: Vec<&mut Child> = stopped.iter_mut().map(|r| &mut r.child).collect();
        terminate(&mut children);
        let n = stopped.len();
        for r in stopped {
            join(r.pumps);
        }
        n
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// SIGTERM to every child, then waits up to [`GRACE`] and SIGKILLs the rest; reaps them all.
fn terminate(children: &mut [&mut Child]) {
    for c in children.iter_mut() {
        if c.try_wait().ok().flatten().is_none() {
            signal(c.id(), Signal::TERM);
        }
    }
    let deadline = Instant::now() + GRACE;
    loop {
        let all_done = children
            .iter_mut()
            .all(|c| c.try_wait().ok().flatten().is_some());
        if all_done || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for c in children.iter_mut() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// Sends `sig` to `pid` (errors, e.g. an exited process, are ignored).
pub fn signal(pid: u32, sig: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, sig);
    }
}

fn join(pumps: Vec<JoinHandle<()>>) {
    for p in pumps {
        let _ = p.join();
    }
}

/// Copies `from` line by line into `log` (and onto stderr as `name | line` when echoing).
fn pump(
    name: &str,
    from: impl Read + Send + 'static,
    log: Arc<Mutex<File>>,
    echo: bool,
) -> JoinHandle<()> {
    let prefix = format!("{name:>10} | ");
    std::thread::spawn(move || {
        let mut reader = BufReader::new(from);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            if !line.ends_with(b"\n") {
                line.push(b'\n');
            }
            if let Ok(mut f) = log.lock() {
                let _ = f.write_all(&line);
            }
            if echo {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(prefix.as_bytes());
                let _ = err.write_all(&line);
            }
            line.clear();
        }
    })
}

/// The last `lines` lines of the file at `path` ('' when unreadable).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Spec {
        Spec::new("/bin/sh", &["-c", script])
    }

    fn dir() -> PathBuf {
        std::env::temp_dir().join(format!("pact-supervisor-{:016x}", rand::random::<u64>()))
    }

    #[test]
    fn logs_both_streams_restarts_and_stops_on_sigterm() -> Result<()> {
        let d = dir();
        let mut s = Supervisor::new(&d, false)?;
        s.spawn("a", sh("echo out; echo err >&2; exec sleep 30"))?;
        let first = s.pid("a").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        s.check_alive()?;
        s.restart("a")?;
        let second = s.pid("a").unwrap();
        assert_ne!(first, second);
        // The second run prints before it is stopped (on a loaded machine that takes a while).
        let until = Instant::now() + Duration::from_secs(20);
        while std::fs::read_to_string(s.log_path("a"))?
            .matches("err\n")
            .count()
            < 2
        {
            assert!(
                Instant::now() < until,
                "the restarted process never wrote its lines"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let t0 = Instant::now();
        s.stop("a")?;
        assert!(
            t0.elapsed() < GRACE,
            "sleep ends on SIGTERM, no SIGKILL wait"
        );
        assert!(!s.contains("a"));
        let log = std::fs::read_to_string(s.log_path("a"))?;
        assert_eq!(log.matches("out\n").count(), 2, "{log}");
        assert_eq!(log.matches("err\n").count(), 2, "{log}");
        let _ = std::fs::remove_dir_all(d);
        Ok(())
    }

    #[test]
    fn a_process_ignoring_sigterm_is_killed_after_the_grace_period() -> Result<()> {
        let d = dir();
        let mut s = Supervisor::new(&d, false)?;
        s.spawn(
            "stubborn",
            sh("trap '' TERM; echo up; while :; do sleep 0.1; done"),
        )?;
        let pid = s.pid("stubborn").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let t0 = Instant::now();
        assert_eq!(s.shutdown(), 1);
        assert!(t0.elapsed() >= GRACE);
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "reaped");
        let _ = std::fs::remove_dir_all(d);
        Ok(())
    }

    #[test]
    fn check_alive_names_a_process_that_exited_with_its_last_lines() -> Result<()> {
        let d = dir();
        let mut s = Supervisor::new(&d, false)?;
        s.spawn("ok", sh("exec sleep 30"))?;
        s.spawn("dies", sh("echo 'cannot bind'; exit 3"))?;
        std::thread::sleep(Duration::from_millis(500));
        let err = s.check_alive().unwrap_err().to_string();
        assert!(err.starts_with("dies exited"), "{err}");
        assert!(
            err.contains("exit status: 3") && err.contains("cannot bind"),
            "{err}"
        );
        s.kill("ok")?;
        let _ = std::fs::remove_dir_all(d);
        Ok(())
    }
}
