package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.client.RaftoralClient;
import io.raftoral.common.WorkflowStatus;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console in a real browser (Debian's chromium, headless, through its chromedriver) on
 * three real node processes, as an operator uses it: find a workflow by filter, open it, read
 * its history and timeline, terminate a running one, see a failover on the timeline of a
 * workflow whose owner was killed with SIGKILL, and see that node down on the cluster page.
 * Screenshots of each step go to {@code target/console-screenshots/}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Path SCREENSHOTS = Path.of("target", "console-screenshots");
  private static NodeProcesses nodes;
  private static final int[] HTTP_PORTS = new int[4]; // by process index, 1..3
  private static WebDriver browser;
  private static int killed = -1;

  @BeforeAll
  static void start() throws IOException {
    for (String tool : List.of("/usr/bin/chromium", "/usr/bin/chromedriver")) {
      if (!new File(tool).canExecute()) {
        throw new IllegalStateException(tool + " is missing: install Debian's chromium and chromium-driver (.ci/run does)");
      }
    }
    Files.createDirectories(SCREENSHOTS);
    nodes = new NodeProcesses("ConsoleBrowserTest");
    for (int i = 1; i <= 3; i++) {
      HTTP_PORTS[i] = NodeProcesses.freePort();
    }
    // A long failure timeout: the killed node stays a member (shown down) for the whole test.
    nodes.bootstrap(http(1));
    nodes.startJoining(http(2));
    nodes.startJoining(http(3));
    nodes.awaitCluster(1, "three voters", NodeProcesses::wholeOfThree);

    ChromeOptions options = new ChromeOptions();
    options.setBinary("/usr/bin/chromium");
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1400,1000");
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File("/usr/bin/chromedriver")).usingAnyFreePort().build();
    browser = new ChromeDriver(service, options);
  }

  private static String[] http(int i) {
    return new String[] {"--http-address", "127.0.0.1:" + HTTP_PORTS[i], "--node-failure-timeout", "10m"};
  }

  @AfterAll
  static void stop() {
    if (browser != null) {
      browser.quit();
    }
    if (nodes != null) {
      nodes.close();
    }
  }

  @Test
  @Order(1)
  void aWorkflowFoundByFilterShowsItsDetailAndHistoryAndCanBeTerminated() throws Exception {
    try (RaftoralClient client = RaftoralClient.connect(nodes.apiAddress(1))) {
      for (int i = 0; i < 3; i++) {
        client.start("ping_pong", 1, NodeProcesses.json("ping"), "pp-" + i);
      }
      client.start("countdown", 1, NodeProcesses.json(600), "long-count");
      awaitCheckpoints(client, "long-count", 2);
    }
    open(1, "/");
    waitFor(d -> d.findElements(By.cssSelector("tr[data-workflow-id]")).size() >= 4);
    shot("01-workflows");

    new Select(browser.findElement(By.id("filter-status"))).selectByValue("RUNNING");
    browser.findElement(By.id("filter-type")).sendKeys("countdown");
    browser.findElement(By.id("filter-apply")).click();
    waitFor(d -> rowIds().equals(List.of("long-count")));
    assertThat(browser.findElement(By.cssSelector("#status-counts .chip[data-status=RUNNING] b")).getText()).isEqualTo("1");
    shot("02-filtered");

    browser.findElement(By.cssSelector("tr[data-workflow-id='long-count']")).click();
    waitFor(d -> text("detail-status").equals("RUNNING"));
    waitFor(d -> d.findElements(By.cssSelector("#history-table tr[data-key]")).size() >= 2);
    assertThat(browser.findElement(By.cssSelector("#history-table tr[data-key='step-1'] pre")).getText()).isEqualTo("1");
    assertThat(text("detail-input")).isEqualTo("600");
    assertThat(browser.findElements(By.cssSelector("#timeline svg circle.point")).size()).isGreaterThanOrEqualTo(2);
    shot("03-detail");

    browser.findElement(By.id("terminate-button")).click();
    assertThat(browser.findElement(By.id("terminate-confirm")).isEnabled()).isFalse(); // a reason first
    browser.findElement(By.id("terminate-reason")).sendKeys("stopped from the console");
    shot("04-terminate-dialog");
    browser.findElement(By.id("terminate-confirm")).click();
    waitFor(d -> text("detail-status").equals("TERMINATED"));
    assertThat(text("detail-error-message")).isEqualTo("stopped from the console");
    shot("05-terminated");
    try (RaftoralClient client = RaftoralClient.connect(nodes.apiAddress(2))) {
      assertThat(client.describe("long-count").status()).isEqualTo(WorkflowStatus.TERMINATED);
    }
  }

  @Test
  @Order(2)
  void aKilledOwnerShowsAsAFailoverOnTheTimelineAndAsDownOnTheClusterPage() throws Exception {
    long owner;
    try (RaftoralClient client = RaftoralClient.connect(nodes.apiAddress(3))) {
      client.start("countdown", 1, NodeProcesses.json(6), "moving");
      awaitCheckpoints(client, "moving", 2);
      owner = client.describe("moving").ownerNode();
    }
    killed = indexOfNode(owner);
    nodes.kill(killed);
    int watcher = killed % 3 + 1;
    try (RaftoralClient client = RaftoralClient.connect(nodes.apiAddress(watcher))) {
      assertThat(client.await("moving", WAIT).info().status()).isEqualTo(WorkflowStatus.COMPLETED);
    }

    open(watcher, "/console/#/workflow/moving");
    waitFor(d -> text("detail-status").equals("COMPLETED"));
    waitFor(d -> d.findElements(By.cssSelector("#history-table tr[data-key]")).size() == 6);
    WebElement timeline = browser.findElement(By.cssSelector("#timeline svg"));
    assertThat(Integer.parseInt(timeline.getAttribute("data-failovers"))).isGreaterThanOrEqualTo(1);
    assertThat(timeline.getText()).contains("node " + owner + " →");
    shot("06-failover-timeline");

    open(watcher, "/console/#/cluster");
    String killedRow = "tr[data-node-id='" + owner + "'] .node-state";
    waitFor(d -> d.findElements(By.cssSelector(killedRow)).size() == 1 && d.findElement(By.cssSelector(killedRow)).getText().equals("down"));
    for (int i = 1; i <= 3; i++) {
      if (i != killed) {
        assertThat(browser.findElement(By.cssSelector("tr[data-node-id='" + nodes.nodeId(i) + "'] .node-state")).getText())
            .isEqualTo("up");
      }
    }
    // Every node reported the version it runs (the jar's): the same on all three.
    waitFor(d -> d.findElements(By.cssSelector("#node-table .node-version")).stream().map(WebElement::getText).distinct()
        .toList().equals(List.of(d.findElement(By.cssSelector("#node-table .node-version")).getText()))
        && !d.findElement(By.cssSelector("#node-table .node-version")).getText().equals("not reported yet"));
    assertThat(browser.findElements(By.cssSelector("#group-table tr[data-group-index]"))).isNotEmpty();
    waitFor(d -> !d.findElements(By.cssSelector("#chart-commits polyline")).isEmpty());
    shot("07-cluster-node-down");
  }

  // ---- helpers ----

  private static void awaitCheckpoints(RaftoralClient client, String id, long count) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (client.describe(id).checkpointCount() < count) {
      assertThat(System.nanoTime()).as(id + " reaches " + count + " checkpoints").isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  private static int indexOfNode(long nodeId) {
    for (int i = 1; i <= nodes.size(); i++) {
      if (nodes.nodeId(i) == nodeId) {
        return i;
      }
    }
    throw new AssertionError("no node process has id " + nodeId);
  }

  private static void open(int node, String path) {
    browser.get("http://127.0.0.1:" + HTTP_PORTS[node] + path);
  }

  private static List<String> rowIds() {
    return browser.findElements(By.cssSelector("tr[data-workflow-id]")).stream().map(e -> e.getAttribute("data-workflow-id")).toList();
  }

  private static String text(String id) {
    List<WebElement> found = browser.findElements(By.id(id));
    return found.isEmpty() ? "" : found.get(0).getText();
  }

  private static void waitFor(Function<WebDriver, Boolean> condition) throws IOException {
    try {
      new WebDriverWait(browser, WAIT).ignoring(org.openqa.selenium.StaleElementReferenceException.class).until(condition::apply);
    } catch (org.openqa.selenium.TimeoutException e) {
      shot("failed-" + System.currentTimeMillis());
      Files.writeString(SCREENSHOTS.resolve("failed-page.html"), browser.getPageSource(), StandardCharsets.UTF_8);
      throw e;
    }
  }

  private static void shot(String name) throws IOException {
    Files.write(SCREENSHOTS.resolve(name + ".png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
  }
}
