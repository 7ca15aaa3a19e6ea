use super::*;

/// A fleet in a fresh directory: `fleet.yaml` and the three CSV files.
fn fleet_dir(tag: &str, yaml: &str, consoles: &str, talkgroups: &str, terminals: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rcload-fleet-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    for (name, text) in [
        ("fleet.yaml", yaml),
        ("consoles.csv", consoles),
        ("talkgroups.csv", talkgroups),
        ("terminals.csv", terminals),
    ] {
        std::fs::write(dir.join(name), text).expect("write");
    }
    dir.join("fleet.yaml")
}

const YAML: &str = "name: two rooms
disciplines: [police, fire]
rooms:
  - noord
  - { id: zuid }
consoles: consoles.csv
talkgroups: talkgroups.csv
terminals: terminals.csv
";
const CONSOLES: &str = "console,room,discipline,monitors
noord-01,noord,police,200001 200002
noord-02,noord,fire,200002 200009
zuid-01,zuid,,200003 200009
";
const TALKGROUPS: &str = "gssi,name,room
200001,NRD-1,noord
200002,NRD-2,noord
200003,ZD-1,zuid
200009,LANDELIJK,
";
const TERMINALS: &str = "issi,home,discipline
3000001,200001,police
3000002,200003,fire
3000003,200009,
";

#[test]
fn a_fleet_loads_with_its_rooms_consoles_talkgroups_and_terminals() {
    let p = fleet_dir("good", YAML, CONSOLES, TALKGROUPS, TERMINALS);
    let f = load(&p).expect("loads");
    assert_eq!(f.name, "two rooms");
    assert_eq!(f.rooms, ["noord", "zuid"]);
    assert_eq!(f.consoles.len(), 3);
    assert_eq!(f.consoles[1].discipline, Some(1));
    assert_eq!(f.consoles[2].discipline, None);
    assert_eq!(f.consoles[2].room, 1);
    assert_eq!(f.consoles[0].monitors, [200001, 200002]);
    assert_eq!(f.talkgroups[3].room, None);
    assert_eq!(f.terminals[1].home, 200003);
}

fn error_of(tag: &str, yaml: &str, consoles: &str, talkgroups: &str, terminals: &str) -> String {
    let p = fleet_dir(tag, yaml, consoles, talkgroups, terminals);
    load(&p).expect_err("refused").to_string()
}

#[test]
fn each_broken_reference_is_named_with_its_file_and_line() {
    let unknown_tg = CONSOLES.replace("200003 200009", "200003 200777");
    let e = error_of("tg", YAML, &unknown_tg, TALKGROUPS, TERMINALS);
    assert!(e.contains("consoles.csv:4:"), "{e}");
    assert!(
        e.contains("console `zuid-01` monitors talkgroup 200777"),
        "{e}"
    );

    let twice = format!("{TERMINALS}3000002,200001,police\n");
    let e = error_of("issi", YAML, CONSOLES, TALKGROUPS, &twice);
    assert!(e.contains("terminals.csv:5:"), "{e}");
    assert!(e.contains("ISSI 3000002 twice (first on line 3)"), "{e}");

    let room = CONSOLES.replace("zuid-01,zuid", "zuid-01,west");
    let e = error_of("room", YAML, &room, TALKGROUPS, TERMINALS);
    assert!(
        e.contains("consoles.csv:4:") && e.contains("room `west`"),
        "{e}"
    );

    let home = TERMINALS.replace("3000003,200009", "3000003,200010");
    let e = error_of("home", YAML, CONSOLES, TALKGROUPS, &home);
    assert!(
        e.contains("terminals.csv:4:") && e.contains("home talkgroup 200010"),
        "{e}"
    );

    let disc = TERMINALS.replace("200003,fire", "200003,navy");
    let e = error_of("disc", YAML, CONSOLES, TALKGROUPS, &disc);
    assert!(
        e.contains("terminals.csv:3:") && e.contains("discipline `navy`"),
        "{e}"
    );

    let dup_room = YAML.replace("  - { id: zuid }", "  - { id: noord }");
    let e = error_of("duproom", &dup_room, CONSOLES, TALKGROUPS, TERMINALS);
    assert!(e.contains("fleet.yaml:5:") && e.contains("rooms[1]"), "{e}");

    let no_column = TERMINALS.replace("issi,home", "issi,homegroup");
    let e = error_of("col", YAML, CONSOLES, TALKGROUPS, &no_column);
    assert!(
        e.contains("terminals.csv:1:") && e.contains("no `home` column"),
        "{e}"
    );

    let bad_yaml = YAML.replace("consoles: consoles.csv", "konsoles: consoles.csv");
    let e = error_of("yaml", &bad_yaml, CONSOLES, TALKGROUPS, TERMINALS);
    assert!(e.contains("fleet.yaml:6") && e.contains("konsoles"), "{e}");
}

#[test]
fn ids_given_twice_unknown_rooms_and_an_empty_fleet_are_refused_by_file_and_line() {
    let gssi_twice = format!("{TALKGROUPS}200002,NRD-2B,noord\n");
    let e = error_of("gssi", YAML, CONSOLES, &gssi_twice, TERMINALS);
    assert!(
        e.contains("talkgroups.csv:6:") && e.contains("GSSI 200002 twice (first on line 3)"),
        "{e}"
    );

    let tg_room = TALKGROUPS.replace("200003,ZD-1,zuid", "200003,ZD-1,oost");
    let e = error_of("tgroom", YAML, CONSOLES, &tg_room, TERMINALS);
    assert!(
        e.contains("talkgroups.csv:4:") && e.contains("talkgroup 200003: room `oost`"),
        "{e}"
    );

    let console_twice = format!("{CONSOLES}noord-02,noord,police,200001\n");
    let e = error_of("contwice", YAML, &console_twice, TALKGROUPS, TERMINALS);
    assert!(
        e.contains("consoles.csv:5:") && e.contains("console `noord-02` twice (first on line 3)"),
        "{e}"
    );

    let bad_id = CONSOLES.replace("zuid-01,zuid", "zuid 01,zuid");
    let e = error_of("conid", YAML, &bad_id, TALKGROUPS, TERMINALS);
    assert!(
        e.contains("consoles.csv:4:") && e.contains("console id `zuid 01`"),
        "{e}"
    );

    let console_disc = CONSOLES.replace("noord-02,noord,fire", "noord-02,noord,ambulance");
    let e = error_of("condisc", YAML, &console_disc, TALKGROUPS, TERMINALS);
    assert!(
        e.contains("consoles.csv:3:")
            && e.contains("discipline `ambulance` is not among the fleet's disciplines"),
        "{e}"
    );

    let disc_twice = YAML.replace("[police, fire]", "[police, Police]");
    let e = error_of("disctwice", &disc_twice, CONSOLES, TALKGROUPS, TERMINALS);
    assert!(
        e.contains("fleet.yaml:") && e.contains("disciplines[1]: `Police` twice"),
        "{e}"
    );

    let e = error_of(
        "empty",
        YAML,
        "console,room,discipline,monitors\n",
        TALKGROUPS,
        "issi,home,discipline\n",
    );
    assert!(
        e.contains("the fleet has no consoles and no terminals"),
        "{e}"
    );
}
