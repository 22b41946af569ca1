"""`validate`'s memory check: parameters and one sample's activations against the machine's memory."""

from graph_builder import Graph
from graph_builder.footprint import activation_bytes, memory_warnings, size_text
from graph_builder.shapes import infer_shapes


def shapes_of(width: int):
    g = Graph()
    a = g.add_node("Input", params={"shape": [width]})
    b = g.add_node("Linear", params={"out_features": width})
    g.connect(a.id, b.id)
    return infer_shapes(g)


def test_a_network_too_big_for_the_machine_is_named_with_its_sizes():
    warnings = memory_warnings(shapes_of(100000), memory=16 * 2**30)
    assert len(warnings) == 1
    assert warnings[0].startswith("the network has 10,000,100,000 parameters: 37.3 GiB of weights and 149.0 GiB "
                                  "to train them with Adam, more than this machine's 16.0 GiB of memory")


def test_one_samples_activations_beyond_memory_are_named():
    shapes = shapes_of(1000)
    assert activation_bytes(shapes) == 2 * 1000 * 4
    assert memory_warnings(shapes, memory=4000)[-1].startswith("the outputs of the layers for one sample take 7.8 KiB")


def test_a_network_that_fits_gets_no_warning():
    assert memory_warnings(shapes_of(100), memory=2**30) == []
    assert [size_text(n) for n in (512, 1536, 1.04858e6)] == ["512 bytes", "1.5 KiB", "1.0 MiB"]

