//! A fixture site of `tests/testdata/jsm/` (a scenario) as the JSM
//! emulator holds it, shared by the JSM contract and daemon tests.

use std::path::{Path, PathBuf};

use helpdesk_slo::simulator::jsm::Site;
use serde_json::Value;

/// `tests/testdata/jsm`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/jsm")
}

/// The scenario in `dir` as a site, `{base}` standing for `base`: the
/// issues of its search pages (without their embedded changelog), every
/// history (the paged changelog where the search's was capped), the
/// comments, SLA records, statuses, organizations and users (the
/// assignable ones the desk's agents).
pub fn fixture_site(dir: &Path, base: &str) -> Site {
    let j = |p: &str| -> Value {
        let text = std::fs::read_to_string(dir.join(p)).unwrap();
        serde_json::from_str(&text.replace("{base}", base)).unwrap()
    };
    let list = |v: &Value| v.as_array().unwrap().clone();
    let mut site = Site {
        statuses: list(&j("../_site/statuses.json")),
        ..Site::default()
    };
    for p in [
        "../_site/organizations_1.json",
        "../_site/organizations_2.json",
    ] {
        site.organizations.extend(list(&j(p)["values"]));
    }
    for p in ["search_1.json", "search_2.json"] {
        if !dir.join(p).exists() {
            continue;
        }
        for mut issue in list(&j(p)["issues"]) {
            let key = issue["key"].as_str().unwrap().to_string();
            let embedded = issue.as_object_mut().unwrap().remove("changelog").unwrap();
            let mut histories = list(&embedded["histories"]);
            histories.reverse();
            if embedded["total"].as_u64().unwrap() as usize == histories.len() {
                site.changelogs.insert(key.clone(), histories);
            } else {
                let mut all = Vec::new();
                for n in 1.. {
                    let page = dir.join(format!("changelog_{key}_{n}.json"));
                    if !page.exists() {
                        break;
                    }
                    all.extend(list(&j(&format!("changelog_{key}_{n}.json"))["values"]));
                }
                site.changelogs.insert(key.clone(), all);
            }
            site.comments.insert(
                key.clone(),
                list(&j(&format!("comments_{key}.json"))["comments"]),
            );
            let sla = format!("sla_{key}.json");
            if dir.join(&sla).exists() {
                site.slas.insert(key.clone(), list(&j(&sla)["values"]));
            }
            site.issues.push(issue);
        }
    }
    // The site's users: the desk's agents (`_site/assignable.json`, the
    // scenario's own `assignable.json` if it has one) and every other
    // account that wrote a comment, which may not be assigned requests.
    let agents = if dir.join("assignable.json").exists() {
        list(&j("assignable.json"))
    } else {
        list(&j("../_site/assignable.json"))
    };
    for u in &agents {
        site.assignable
            .insert(u["accountId"].as_str().unwrap().to_string());
    }
    site.users = agents;
    for author in site.comments.values().flatten().map(|c| &c["author"]) {
        let id = &author["accountId"];
        if !site.users.iter().any(|u| &u["accountId"] == id) {
            site.users.push(author.clone());
        }
    }
    site
}
