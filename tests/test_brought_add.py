"""`zoo add FILE --card`: the card, the checks against the file, and every refusal in one line.

Each bad input ends in one ``error:`` line, exit 2, and the manifest byte for byte as it was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from helpers_brought import TinyCNN, card_text, export_ir, export_onnx, write_card
from typer.testing import CliRunner

from ecgbench.card import card_from_dict, checkpoint_card, read_card
from ecgbench.cli import app
from ecgbench.errors import BadInputError, ChecksumError
from ecgbench.tomlio import tomllib
from ecgbench.zoo import Zoo

SUPER = ("MI", "STTC", "HYP", "CD", "NORM")


def cli(*args: object, code: int = 0) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == code, result.output
    if code:
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1, result.stderr
        return errors[0]
    return result.output


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("brought")
    export_onnx(TinyCNN(), (1, 12, 5000), d / "good.onnx")
    export_ir(d / "good.onnx", d / "good.xml")
    export_onnx(TinyCNN(), (1, 12, 1000), d / "short.onnx")
    export_onnx(TinyCNN(leads=8), (1, 8, 5000), d / "eight.onnx")
    export_onnx(TinyCNN(classes=5), (1, 12, 5000), d / "five.onnx")
    export_onnx(TinyCNN(nlc=True), (1, 5000, 12), d / "nlc.onnx")
    write_card(d / "card.toml")
    return d


@pytest.fixture
def zoo(tmp_path: Path, files: Path) -> Path:
    """A zoo that already holds one brought model, so 'unchanged' means something."""
    z = tmp_path / "zoo"
    cli("zoo", "add", files / "good.onnx", "--card", files / "card.toml", "--zoo-dir", z)
    return z


def refused(zoo: Path, *args: object) -> str:
    before = (zoo / "zoo.toml").read_bytes()
    line = cli("zoo", "add", *args, "--zoo-dir", zoo, code=2)
    assert (zoo / "zoo.toml").read_bytes() == before
    return line


# --------------------------------------------------------------------------- the card
def card_doc(**kw) -> dict:
    return tomllib.loads(card_text(**kw))


def test_a_good_card_reads_back_through_its_dict():
    c = card_from_dict(card_doc(steps=("median_baseline(51)", "clip(-5, 5)", "zscore")))
    assert c.samples == 5000 and c.channels == 12 and len(c.thresholds) == 26
    assert card_from_dict(c.to_dict()) == c


@pytest.mark.parametrize(
    ("mutate", "says"),
    [
        (lambda d: d["input"].pop("fs"), "missing key input.fs"),
        (lambda d: d["output"].pop("activation"), "missing key output.activation"),
        (lambda d: d["input"].update(rate=5), "unknown key input.rate"),
        (lambda d: d.update(extra={}), "unknown section [extra]"),
        (
            lambda d: d["preprocess"].update(steps=["wavelet(3)"]),
            "unknown preprocess step 'wavelet'",
        ),
        (lambda d: d["preprocess"].update(steps=["bandpass(1, 40)"]), "takes 3 argument(s)"),
        (lambda d: d["input"].update(layout="LCN"), "input.layout = 'LCN'"),
        (lambda d: d["output"].update(threshold=[0.5, 0.5]), "2 values for 26"),
        (lambda d: d["output"].update(classes=["AF", "NORM"]), 'labels = "snomed" needs SNOMED'),
        (
            lambda d: d["output"].update(labels="ptbxl-superclass", classes=["AF"]),
            "not a PTB-XL superclass",
        ),
    ],
)
def test_a_bad_card_is_refused_naming_the_key(mutate, says):
    d = card_doc()
    mutate(d)
    with pytest.raises(BadInputError, match=None) as e:
        card_from_dict(d, "c.toml")
    assert says in str(e.value) and str(e.value).startswith("c.toml: ")
    assert "\n" not in str(e.value)


def test_the_zoo_convnexts_are_described_by_a_card():
    z = Zoo()
    if not z.entries:
        pytest.skip("no zoo checkpoints in models/")
    c = checkpoint_card(z.load(z.names()[0]))
    assert (c.fs, c.seconds, c.layout, c.labels, c.activation) == (
        500,
        10,
        "NCL",
        "snomed",
        "sigmoid",
    )
    assert [s.name for s in c.steps] == ["bandpass", "zscore"] and len(c.classes) == 26


# --------------------------------------------------------------------------- zoo add
def test_onnx_and_ir_are_registered_with_sha256_and_card(zoo: Path, files: Path):
    cli(
        "zoo",
        "add",
        files / "good.xml",
        "--card",
        files / "card.toml",
        "--name",
        "ir",
        "--zoo-dir",
        zoo,
    )
    z = Zoo(zoo)
    e, ir = z.get("good"), z.get("ir")
    assert e.brought and e.file == "brought/good/good.onnx" and e.input_shape == (1, 12, 5000)
    assert set(ir.files) == {"brought/ir/good.xml", "brought/ir/good.bin"}
    assert e.flops == ir.flops > 0 and e.params == ir.params == sum(
        p.numel() for p in TinyCNN().parameters()
    )
    assert read_card(files / "card.toml").to_dict() == e.card
    assert z.verify("ir") == zoo / "brought/ir/good.xml"


def test_a_changed_file_is_refused_later(zoo: Path):
    p = zoo / "brought/good/good.onnx"
    m = onnx.load(str(p))
    m.graph.initializer[0].raw_data = bytes(len(m.graph.initializer[0].raw_data))
    onnx.save(m, str(p))
    with pytest.raises(ChecksumError):
        Zoo(zoo).verify("good")


def test_neither_onnx_nor_ir(zoo: Path, files: Path, tmp_path: Path):
    (tmp_path / "m.bin").write_bytes(b"\0" * 64)
    assert "neither ONNX" in refused(zoo, tmp_path / "m.bin", "--card", files / "card.toml")
    (tmp_path / "m.onnx").write_bytes(b"not protobuf at all \xff\xfe")
    assert "not an ONNX model" in refused(zoo, tmp_path / "m.onnx", "--card", files / "card.toml")


def test_an_ir_without_its_bin(zoo: Path, files: Path, tmp_path: Path):
    (tmp_path / "lonely.xml").write_text((files / "good.xml").read_text())
    line = refused(zoo, tmp_path / "lonely.xml", "--card", files / "card.toml")
    assert "without its weights file lonely.bin" in line


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda t: t.replace('units = "mV"\n', ""), "missing key input.units"),
        (
            lambda t: t.replace("[preprocess]", "colour = 1\n[preprocess]"),
            "unknown key input.colour",
        ),
        (lambda t: t.replace('"zscore"', '"whiten"'), "unknown preprocess step 'whiten'"),
    ],
)
def test_a_bad_card_leaves_the_zoo_unchanged(zoo: Path, files: Path, tmp_path: Path, edit, says):
    card = tmp_path / "bad.toml"
    card.write_text(edit((files / "card.toml").read_text()))
    assert says in refused(zoo, files / "good.onnx", "--card", card, "--name", "other")


def test_shape_contradicting_the_card(zoo: Path, files: Path):
    line = refused(zoo, files / "short.onnx", "--card", files / "card.toml")
    assert "takes 1000 samples" in line and "500 × 10 = 5000" in line


def test_eight_channels_against_twelve_leads(zoo: Path, files: Path):
    line = refused(zoo, files / "eight.onnx", "--card", files / "card.toml")
    assert "8 input channels, the card names 12 leads" in line


def test_output_width_against_classes(zoo: Path, files: Path):
    line = refused(zoo, files / "five.onnx", "--card", files / "card.toml")
    assert "output [1, 5]" in line and "26 output.classes" in line


def test_nlc_declared_for_an_ncl_model(zoo: Path, files: Path, tmp_path: Path):
    card = write_card(tmp_path / "nlc.toml", layout="NLC")
    assert "is NCL, the card declares layout = 'NLC'" in refused(
        zoo, files / "good.onnx", "--card", card
    )
    # and the other way round
    assert "is NLC" in refused(zoo, files / "nlc.onnx", "--card", files / "card.toml")


def test_snomed_labels_with_classes_that_are_not_snomed(zoo: Path, files: Path, tmp_path: Path):
    card = write_card(tmp_path / "c.toml", classes=SUPER)
    assert 'labels = "snomed" needs SNOMED CT codes' in refused(
        zoo, files / "five.onnx", "--card", card
    )


def test_bad_names_never_become_paths(zoo: Path, files: Path):
    line = refused(zoo, files / "good.onnx", "--card", files / "card.toml", "--name", "../x")
    assert "model name '../x'" in line
    assert not (zoo.parent / "x").exists()


def _external(files: Path, d: Path, location: str) -> Path:
    d.mkdir()
    m = onnx.load(str(files / "good.onnx"))
    t = m.graph.initializer[0]
    t.data_location = onnx.TensorProto.EXTERNAL
    del t.external_data[:]
    t.external_data.add(key="location", value=location)
    t.ClearField("raw_data")
    onnx.save(m, str(d / "m.onnx"))
    return d / "m.onnx"


def test_external_data_outside_the_folder(zoo: Path, files: Path, tmp_path: Path):
    (tmp_path / "secret.bin").write_bytes(np.zeros(1000, np.float32).tobytes())
    m = _external(files, tmp_path / "model", "../secret.bin")
    line = refused(zoo, m, "--card", files / "card.toml")
    assert "external data '../secret.bin' points outside the model's folder" in line


def test_a_custom_op_domain(zoo: Path, files: Path, tmp_path: Path):
    m = onnx.load(str(files / "good.onnx"))
    m.graph.node[1].domain = "com.example.evil"
    m.opset_import.add(domain="com.example.evil", version=1)
    onnx.save(m, str(tmp_path / "custom.onnx"))
    line = refused(zoo, tmp_path / "custom.onnx", "--card", files / "card.toml")
    assert "custom domain 'com.example.evil'" in line


def test_an_onnx_without_a_card(zoo: Path, files: Path):
    assert "needs --card" in refused(zoo, files / "good.onnx")


def test_zoo_add_help_documents_every_card_key_and_step():
    from ecgbench.card import SECTIONS, STEPS

    text = " ".join(cli("zoo", "add", "--help").split())
    for section, keys in SECTIONS.items():
        assert f"[{section}]" in text
        for k in keys:
            assert k in text, k
    for step in STEPS:
        assert step in text, step
