//! Plain-text logs through `vg logs`, as `kubectl logs -f pod | vg logs --file - --level warn` runs:
//! levels named in the text and leading timestamps are the entries' own.
#![cfg(feature = "cli")]

use std::process::Command;

/// `vg` with none of the user's settings.
fn vg() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vg"));
    for var in ["VG_URL", "VG_TOKEN", "NO_COLOR", "VG_INSTANCE", "VG_REGION"] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn plain_text_errors_survive_a_level_filter_with_their_own_times() {
    let input = "\
2026-02-05T18:13:38.000Z INFO  server started
2026-02-05T18:13:39.250Z WARN  cache hit ratio low
E0205 18:13:40.000000       1 controller.go:114] sync failed
time=2026-02-05T18:13:41Z level=error msg=\"db down\"
<3>kernel: oops
2026-02-05 18:13:42,500 [main] DEBUG c.e.App - tick
a line that names no level
";
    let out = assert_cmd::Command::from_std({
        let mut cmd = vg();
        cmd.args(["logs", "--file", "-", "--level", "warn", "--json"]);
        cmd
    })
    .write_stdin(input)
    .assert()
    .success()
    .get_output()
    .stdout
    .clone();
    let entries: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["level"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("warn", "2026-02-05T18:13:39.250Z WARN  cache hit ratio low"),
            (
                "error",
                "E0205 18:13:40.000000       1 controller.go:114] sync failed"
            ),
            (
                "error",
                "time=2026-02-05T18:13:41Z level=error msg=\"db down\""
            ),
            ("error", "<3>kernel: oops"),
        ]
    );
    assert_eq!(entries[0]["timestamp"], "2026-02-05T18:13:39.250Z");
    // glog writes no year: the latest February 5th not in the future.
    let glog = entries[1]["timestamp"].as_str().unwrap();
    assert!(glog.ends_with("-02-05T18:13:40.000Z"), "{glog}");
}
