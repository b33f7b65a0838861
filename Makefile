# The two entry points the README opens with:
#   make demo   sets everything up (idempotent) and describes a sample image with the default model
#               (shapes-vlm: DINOv2 + the projector and LoRA adapter trained here + SmolLM2)
#   make test   runs the test suite (release build: the numeric tests are slow in debug)
SWIFT_TEST_FLAGS = -c release -Xswiftc -enable-testing --scratch-path .build-test
VLM = .build/release/vlm

.PHONY: setup demo test build clean

setup:
	bash scripts/setup.sh

build:
	swift build -c release --product vlm

demo: setup
	$(VLM) describe Samples/shapes.png

test:
	bash scripts/setup.sh --no-build
	VLM_REQUIRE_MODELS=1 swift test $(SWIFT_TEST_FLAGS)

clean:
	rm -rf .build .build-test
