//! `trailhound serve` started on a free loopback port, and a small blocking HTTP client for
//! talking to it (reqwest on a private runtime).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{binary, path_str};

/// A running `serve`; stopped when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `serve --listen 127.0.0.1:0` on `data` with `extra` arguments and waits for
    /// the line that names its address.
    pub fn start(data: &Path, extra: &[&str]) -> Result<Server, Box<dyn std::error::Error>> {
        Server::start_with_env(data, extra, &[])
    }

    /// [`Server::start`] with `env` set for the process (credentials for an S3 lake).
    pub fn start_with_env(
        data: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server, Box<dyn std::error::Error>> {
        let mut child = Command::new(binary())
            .envs(env.iter().copied())
            .args([
                "--data-dir",
                &path_str(data),
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let log = Arc::new(Mutex::new(String::new()));
        let (sender, receiver) = std::sync::mpsc::channel();
        let shared = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = sender.send(url.trim().to_owned());
                }
                if let Ok(mut log) = shared.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let url = match receiver.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = log.lock().map(|l| l.clone()).unwrap_or_default();
                return Err(format!("serve did not start: {log}").into());
            }
        };
        Ok(Server { child, url, log })
    }

    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The status and the error code of a refusal, to compare in one assertion.
    pub fn refusal(&self) -> (u16, String) {
        let code = self.json()["error"].as_str().unwrap_or_default().to_owned();
        (self.status, code)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A blocking client; `auth` headers are added to every request.
pub struct Client {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    pub base: String,
}

impl Client {
    pub fn new(base: &str) -> Result<Client, Box<dyn std::error::Error>> {
        Client::with(base, reqwest::Client::builder())
    }

    pub fn with(
        base: &str,
        builder: reqwest::ClientBuilder,
    ) -> Result<Client, Box<dyn std::error::Error>> {
        Ok(Client {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            client: builder
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(Duration::from_secs(120))
                .build()?,
            base: base.to_owned(),
        })
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer, Box<dyn std::error::Error>> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            if !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                request = request.header("content-type", "application/json");
            }
            request = request.body(body);
        }
        self.runtime.block_on(async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            let body = response.text().await?;
            Ok(Answer {
                status,
                headers,
                body,
            })
        })
    }

    /// GET with a bearer token.
    pub fn get(&self, path: &str, token: &str) -> Result<Answer, Box<dyn std::error::Error>> {
        let bearer = format!("Bearer {token}");
        self.call("GET", path, &[("authorization", &bearer)], None)
    }

    /// `POST /api/v1/query` with a bearer token.
    pub fn sql(
        &self,
        token: &str,
        body: serde_json::Value,
    ) -> Result<Answer, Box<dyn std::error::Error>> {
        self.send("POST", "/api/v1/query", token, body)
    }

    /// A method with a bearer token and a JSON body.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> Result<Answer, Box<dyn std::error::Error>> {
        let bearer = format!("Bearer {token}");
        self.call(
            method,
            path,
            &[("authorization", &bearer)],
            Some(body.to_string()),
        )
    }
}

/// Creates a token with the CLI and returns its secret.
pub fn token(data: &Path, name: &str, role: &str) -> Result<String, Box<dyn std::error::Error>> {
    let out = crate::support::lake_run(data, &["token", "create", "--name", name, "--role", role])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    Ok(out.stdout.trim().to_owned())
}
