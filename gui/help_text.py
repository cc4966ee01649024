"""Tooltips: what each control does, with the formula where the textbooks give one.

Kept in one place so the network editor, the training panel and the command
line's help all say the same thing.
"""

ACTIVATION_HELP = {
    "linear": "Linear: f(x) = x. No non-linearity; a stack of linear layers is still one linear map.",
    "relu": "ReLU: f(x) = max(0, x). Fast and the usual default; units can 'die' if they stay negative.",
    "leaky_relu": "Leaky ReLU: f(x) = x if x > 0 else α·x. The small slope α keeps negative units learning.",
    "elu": "ELU: f(x) = x if x > 0 else eˣ − 1. Smooth below zero, mean activations nearer 0.",
    "selu": "SELU: λ·(x if x > 0 else α(eˣ − 1)). Self-normalising with LeCun-normal initialisation.",
    "sigmoid": "Sigmoid: σ(x) = 1 / (1 + e⁻ˣ). Squashes to (0, 1); saturates, so deep stacks learn slowly.",
    "tanh": "Tanh: f(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ). Squashes to (−1, 1), centred on zero.",
    "softmax": "Softmax: f(x)ᵢ = eˣⁱ / Σⱼ eˣʲ. Turns a vector into probabilities that sum to 1.",
    "swish": "Swish / SiLU: f(x) = x · σ(x). Smooth, non-monotonic; often beats ReLU in deep nets.",
    "gelu": "GELU: f(x) = x · Φ(x), Φ the normal CDF. Used in Transformers.",
}

INITIALIZER_HELP = {
    "glorot_uniform": "Xavier/Glorot uniform: W ~ U(−√(6/(fan_in+fan_out)), +√(6/(fan_in+fan_out))). Good for tanh and sigmoid.",
    "glorot_normal": "Xavier/Glorot normal: W ~ N(0, 2/(fan_in+fan_out)), truncated.",
    "he_uniform": "He uniform: W ~ U(−√(6/fan_in), +√(6/fan_in)). Made for ReLU.",
    "he_normal": "He normal: W ~ N(0, 2/fan_in), truncated. Made for ReLU.",
    "lecun_normal": "LeCun normal: W ~ N(0, 1/fan_in), truncated. Pairs with SELU.",
    "random_normal": "Random normal: W ~ N(0, 0.05²), ignoring the layer's size.",
    "zeros": "Zeros: every weight starts at 0, so all units stay identical — try it to see why we need random starts.",
}

OPTIMIZER_HELP = {
    "sgd": "Mini-batch SGD: w ← w − η·g. With momentum μ: v ← μ·v − η·g, w ← w + v.",
    "rmsprop": "RMSprop: s ← ρ·s + (1−ρ)·g², w ← w − η·g / √(s + ε). Scales each weight's step by its recent gradient size.",
    "adam": "Adam: momentum (β₁) plus RMSprop-style scaling (β₂), with bias correction.",
    "adamw": "AdamW: Adam with weight decay applied straight to the weights, not through the gradient.",
    "adagrad": "Adagrad: divides by the square root of all past squared gradients, so steps shrink over time.",
    "adadelta": "Adadelta: like RMSprop, with the step size also adapted from past updates.",
    "nadam": "Nadam: Adam with Nesterov momentum.",
}

SETTING_HELP = {
    "units": "Number of neurons in the layer. Output = activation(x·W + b); W has inputs × units weights.",
    "residual": "Residual connection (残差连接): the layer's input is added to its output, activation(x·W + b) + x, "
                "so the gradient has a path around the layer. Where the widths differ the input goes through a "
                "learned projection x·P first (inputs × units more weights, counted in the card's parameters).",
    "activation": "The non-linearity applied to each neuron's output.",
    "kernel_initializer": "How the weights are drawn before training starts.",
    "negative_slope": "Leaky ReLU's slope α for negative inputs: f(x) = α·x when x < 0.",
    "l1": "L1 penalty: adds λ₁·Σ|w| to the loss, pushing weights to exactly zero.",
    "l2": "L2 penalty (weight decay): adds λ₂·Σw² to the loss, keeping weights small.",
    "use_bias": "Whether the layer adds a learned bias b to x·W.",
    "rate": "Dropout: while training, each input is zeroed with probability p and the rest scaled by 1/(1−p). Off at test time.",
    "momentum_bn": "Batch normalisation: x̂ = (x − μ_batch)/√(σ²_batch + ε), then γ·x̂ + β. Momentum sets how slowly the running averages move.",
    "learning_rate": "Learning rate η: the size of each step down the gradient. Too large diverges, too small crawls.",
    "momentum": "Momentum μ: v ← μ·v − η·g, w ← w + v. Keeps moving in a consistent direction, damping zig-zags.",
    "nesterov": "Nesterov momentum: take the gradient at the look-ahead point w + μ·v.",
    "rho": "ρ: decay of the running average of squared gradients.",
    "beta_1": "β₁: decay of the running average of gradients (momentum).",
    "beta_2": "β₂: decay of the running average of squared gradients.",
    "epsilon": "ε: a small number added to a denominator so it is never zero.",
    "weight_decay": "Decoupled weight decay: w ← w − η·λ·w at every step.",
    "amsgrad": "AMSGrad: use the largest squared-gradient average seen so far, which can help convergence.",
    "centered": "Centred RMSprop: divide by an estimate of the gradient's variance.",
    "initial_accumulator_value": "Adagrad's starting value for the sum of squared gradients.",
    "clipnorm": "Clip by norm: if ‖g‖ > c, g ← g·c/‖g‖. Tames exploding gradients. 0 = off.",
    "clipvalue": "Clip by value: each gradient element is limited to [−c, c]. 0 = off.",
    "epochs": "Epochs: full passes over the training set.",
    "batch_size": "Batch size: samples per gradient step. Small = noisy but frequent steps; large = smooth but fewer.",
    "validation_fraction": "Share of the training rows held out and scored after each epoch, to see over-fitting.",
    "shuffle": "Shuffle the training rows before each epoch.",
    "seed": "Random seed: the same seed and settings give the same result on the same machine.",
    "device": "Where training runs: the CPU, one GPU, or all GPUs (MirroredStrategy).",
    "loss": "The quantity training minimises. MSE = mean((y−ŷ)²); cross-entropy = −Σ y·log ŷ.",
    "output_activation": "The output layer's activation: softmax for several classes, sigmoid for two, linear for regression.",
    "schedule": "How the learning rate changes: exponential decay η·rᵗᐟᵀ, cosine decay, or cut on a plateau of the validation loss.",
    "early_stopping": "Early stopping: end training when the monitored figure has not improved for 'patience' epochs.",
    "augment_shift": "Data augmentation (数据增强): each training image moves by up to this share of its width and height, "
                     "a new draw every batch. Only while training; predictions and exports see the images as they are.",
    "augment_rotate": "Data augmentation: each training image turns by up to this many degrees either way.",
    "augment_zoom": "Data augmentation: each training image is zoomed in or out by up to this share.",
    "augment_noise": "Data augmentation: Gaussian noise of this standard deviation is added to the standardised inputs "
                     "while training (any data set; shift, rotation and zoom need images).",
    "patience": "Epochs without improvement before early stopping (or the plateau cut) acts.",
    "restore_best_weights": "At the end, go back to the weights of the best epoch rather than the last.",
    "monitor": "The figure early stopping watches: validation loss is usual.",
    "dense_layer": "Dense (fully connected) layer: y = activation(x·W + b), with W of size inputs × units and one bias per unit.",
    "parameter_count": "Parameters are the numbers training adjusts. Dense: inputs × units weights + units biases. BatchNorm: γ and β per feature are trained; the running mean and variance are kept but not trained.",
}
