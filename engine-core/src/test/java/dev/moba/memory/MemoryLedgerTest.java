package dev.moba.memory;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MemoryLedgerTest {

    @Test
    void thePeakIsTheMostHeldAtOnceAndOutlivesWhatIsGivenBack() {
        var ledger = new MemoryLedger(1000);
        assertThat(ledger.tryReserve("a", 300)).isTrue();
        ledger.charge("b", 500);
        ledger.charge("a", -200);
        assertThat(ledger.tryReserve("b", 300)).isTrue();
        assertThat(ledger.used()).isEqualTo(900);
        assertThat(ledger.peak()).isEqualTo(900);
        ledger.forget("b");
        assertThat(ledger.used()).isEqualTo(100);
        assertThat(ledger.peak()).isEqualTo(900);
        assertThat(ledger.snapshot().peak()).isEqualTo(900);
    }

    @Test
    void aRefusedReservationDoesNotRaiseThePeak() {
        var ledger = new MemoryLedger(100);
        assertThat(ledger.tryReserve("a", 60)).isTrue();
        assertThat(ledger.tryReserve("a", 60)).isFalse();
        assertThat(ledger.peak()).isEqualTo(60);
    }
}
