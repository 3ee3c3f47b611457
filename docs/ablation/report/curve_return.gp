# curve_return.gp - drawn by dqnlm-report from curve_return.dat; run: gnuplot curve_return.gp
set title 'Training-episode return (IQM across seeds, 95% bootstrap band)' noenhanced
set xlabel 'env steps' noenhanced
set ylabel 'episode return' noenhanced
set key bottom right noenhanced
set grid
set style fill transparent solid 0.18 noborder
set terminal pngcairo size 960,600 font 'sans,11'
set output 'curve_return.png'
plot 'curve_return.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, \
     'curve_return.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'eps-0.1 (5 runs)', 'curve_return.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, \
     'curve_return.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'linear-decay (5 runs)', 'curve_return.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, \
     'curve_return.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'ez-greedy (5 runs)', 'curve_return.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, \
     'curve_return.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'boltzmann (5 runs)'
set terminal svg size 960,600 font 'sans,11' background '#ffffff'
set output 'curve_return.svg'
plot 'curve_return.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, \
     'curve_return.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'eps-0.1 (5 runs)', 'curve_return.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, \
     'curve_return.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'linear-decay (5 runs)', 'curve_return.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, \
     'curve_return.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'ez-greedy (5 runs)', 'curve_return.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, \
     'curve_return.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'boltzmann (5 runs)'
