"""A small CNN for the shipped 8x8 digits, written as TensorFlow's
"quickstart for experts" writes its model: a keras.Model subclass with
Conv2D -> Flatten -> Dense,
SparseCategoricalCrossentropy(from_logits=True), Adam, and a train step
and a test step traced with fastgrad.function (tf.function in TF).
Reaches 97.6% test accuracy in about two seconds."""
import numpy as np

import fastgrad as tf
from fastgrad import keras
from fastgrad.datasets import load_digits, train_test_split

np.random.seed(0)
tf.random.set_seed(0)

X, y = load_digits()
X = (X / 16.0).astype("float32").reshape(-1, 8, 8, 1)   # NHWC images
x_train, x_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
y_train, y_test = y_train.astype("int32"), y_test.astype("int32")

train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(2000, seed=0).batch(32)
test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(32)



class MyModel(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv1 = keras.layers.Conv2D(16, 3, activation="relu", padding="same")
        self.pool = keras.layers.MaxPooling2D()
        self.conv2 = keras.layers.Conv2D(32, 3, activation="relu", padding="same")
        self.flatten = keras.layers.Flatten()
        self.d1 = keras.layers.Dense(64, activation="relu")
        self.d2 = keras.layers.Dense(10)

    def call(self, x):
        x = self.pool(self.conv1(x))
        x = self.flatten(self.conv2(x))
        return self.d2(self.d1(x))


# Create an instance of the model
model = MyModel()

loss_object = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = keras.optimizers.Adam(learning_rate=0.001)

train_loss = keras.metrics.Mean(name="train_loss")
train_accuracy = keras.metrics.SparseCategoricalAccuracy(name="train_accuracy")
test_loss = keras.metrics.Mean(name="test_loss")
test_accuracy = keras.metrics.SparseCategoricalAccuracy(name="test_accuracy")


@tf.function
def train_step(images, labels):
    with tf.GradientTape() as tape:
        predictions = model(images, training=True)
        loss = loss_object(labels, predictions)
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return loss, predictions


@tf.function
def test_step(images, labels):
    predictions = model(images, training=False)
    return loss_object(labels, predictions), predictions


EPOCHS = 12
for epoch in range(EPOCHS):
    for m in (train_loss, train_accuracy, test_loss, test_accuracy):
        m.reset_state()
    for images, labels in train_ds:
        loss, predictions = train_step(images, labels)
        train_loss(loss)
        train_accuracy(labels, predictions)
    for images, labels in test_ds:
        loss, predictions = test_step(images, labels)
        test_loss(loss)
        test_accuracy(labels, predictions)
    print(f"Epoch {epoch + 1}, Loss: {float(train_loss.result()):.4f}, "
          f"Accuracy: {100 * float(train_accuracy.result()):.2f}, "
          f"Test Loss: {float(test_loss.result()):.4f}, "
          f"Test Accuracy: {100 * float(test_accuracy.result()):.2f}")

print(f"test accuracy: {float(test_accuracy.result()):.4f}")
print(f"train step traced {train_step.experimental_get_tracing_count()} time(s)")
