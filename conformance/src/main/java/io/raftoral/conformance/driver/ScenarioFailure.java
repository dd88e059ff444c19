package io.raftoral.conformance.driver;

/** A step's outcome differed from the scenario's expectation, or the cluster did not let it run. */
final class ScenarioFailure extends RuntimeException {
  ScenarioFailure(String message) {
    super(message);
  }

  ScenarioFailure(String message, Throwable cause) {
    super(message, cause);
  }
}
