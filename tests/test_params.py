"""Parameter counts from the description agree with Keras's own count."""

import pytest

from models.network.build import build_model, resolve_output
from models.network.params import count_parameters, total_parameters
from models.network.spec import BatchNormLayer, DenseLayer, DropoutLayer, Project


def test_counts_by_hand_for_the_playground_network():
    project = Project(layers=[DenseLayer(8), DenseLayer(8)])
    rows = count_parameters(project, n_features=2, output_units=2)
    assert [row.total for row in rows] == [2 * 8 + 8, 8 * 8 + 8, 8 * 2 + 2]
    assert total_parameters(rows) == 114


def test_batchnorm_and_bias_free_layers():
    project = Project(layers=[DenseLayer(10, use_bias=False), BatchNormLayer(), DropoutLayer(0.5)])
    rows = count_parameters(project, n_features=4, output_units=1)
    assert rows[0].total == 40
    assert (rows[1].trainable, rows[1].non_trainable) == (20, 20)
    assert rows[2].total == 0
    assert rows[3].total == 11


@pytest.mark.parametrize(
    "task,n_classes", [("classification", 3), ("classification", 2), ("regression", 0)]
)
def test_description_count_matches_keras(task, n_classes):
    project = Project(
        layers=[DenseLayer(12, "leaky_relu"), BatchNormLayer(), DropoutLayer(0.1), DenseLayer(5)]
    )
    plan = resolve_output(project, task, n_classes)
    model = build_model(project, 7, task, n_classes)
    assert total_parameters(count_parameters(project, 7, plan.units)) == model.count_params()
